"""Type annotations: every public function and method is annotated (mypy --strict checks them in
Tests/run.sh), and the package says it is typed."""

import enum
import inspect
from pathlib import Path

import pytest

import libscore


def _public_functions():
    """(name, function) for every public function of the package and public method of its classes."""
    for name in libscore.__all__:
        value = getattr(libscore, name)
        if inspect.isfunction(value):
            yield name, value
        elif inspect.isclass(value) and not issubclass(value, enum.Enum):
            for attribute, member in vars(value).items():
                if attribute.startswith("_") and attribute != "__init__":
                    continue
                if isinstance(member, property):
                    member = member.fget
                elif isinstance(member, (classmethod, staticmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    yield f"{name}.{attribute}", member


FUNCTIONS = dict(_public_functions())


def test_the_walk_finds_the_api():
    assert {"version", "Policy.logits", "Policy.load", "Policy.info", "Trainer.__init__", "Trainer.gradients",
            "ScoreError.__init__"} <= set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_public_function_is_annotated(name):
    signature = inspect.signature(FUNCTIONS[name])
    missing = [parameter.name for parameter in signature.parameters.values()
               if parameter.annotation is inspect.Parameter.empty and parameter.name not in ("self", "cls")]
    assert not missing, f"{name}: parameters without a type: {missing}"
    assert signature.return_annotation is not inspect.Signature.empty, f"{name}: no return type"


def test_the_package_ships_py_typed():
    assert (Path(libscore.__file__).parent / "py.typed").is_file()
