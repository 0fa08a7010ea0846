"""The ctypes mirrors, prototypes and constants against the text of include/score.h.

These tests read the header of the repository the package sits in and need no library; they
are skipped when the header is not there (an installed copy of the package).
"""

import ctypes
import re
from ctypes import POINTER, c_char_p, c_void_p
from pathlib import Path

import pytest

from libscore import _library, _structs, errors, log, policy, trainer, types

HEADER = Path(__file__).resolve().parents[3] / "include" / "score.h"
pytestmark = pytest.mark.skipif(not HEADER.is_file(), reason="score.h is not next to the bindings")

SCALARS = {
    "uint32_t": ctypes.c_uint32, "int32_t": ctypes.c_int32, "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64, "size_t": ctypes.c_size_t, "float": ctypes.c_float,
    "double": ctypes.c_double, "bool": ctypes.c_bool, "score_status": ctypes.c_int32,
    "void": None,
}
STRUCTS = {
    "score_model_config": _structs.ModelConfig,
    "score_chat_template": _structs.ChatTemplate,
    "score_policy_options": _structs.PolicyOptions,
    "score_policy_info": _structs.PolicyInfo,
    "score_sampling_options": _structs.SamplingOptions,
    "score_correct_options": _structs.CorrectOptions,
    "score_correction": _structs.Correction,
    "score_verify_item": _structs.VerifyItem,
    "score_trainer_options": _structs.TrainerOptions,
    "score_step_stats": _structs.StepStats,
    "score_eval_result": _structs.EvalResult,
    "score_sft_example": _structs.SFTExample,
}
CALLBACKS = {
    "score_log_fn": _structs.LOG_FN,
    "score_verifier_fn": _structs.VERIFIER_FN,
    "score_progress_fn": _structs.PROGRESS_FN,
}
HANDLES = {"score_policy", "score_trainer"}


def header_text():
    return re.sub(r"/\*.*?\*/", " ", HEADER.read_text(), flags=re.S)


def c_type(base, stars, const=False):
    """The ctypes type the bindings use for a C type (base name, number of stars, leading const).

    Opaque handles are c_void_p; a string returned through `char **` is read as `void *` so it
    can be freed; `const char *const *` arrays are POINTER(c_char_p).
    """
    if base in HANDLES:
        assert stars >= 1
        return c_void_p if stars == 1 else POINTER(c_void_p)
    if base == "char":
        return c_char_p if stars == 1 else POINTER(c_char_p) if const else POINTER(c_void_p)
    if base in CALLBACKS:
        assert stars == 0
        return CALLBACKS[base]
    value = STRUCTS[base] if base in STRUCTS else SCALARS[base]
    if base == "void" and stars:
        value, stars = c_void_p, stars - 1
    for _ in range(stars):
        value = POINTER(value)
    return value


def declaration(text):
    """(base type, stars, leading const, name) of a C declaration such as `const char *const *x`."""
    match = re.fullmatch(r"\s*(const\s+)?(\w+)((?:\s*\*\s*(?:const\s+)?)*)\s*(\w*)\s*", text)
    assert match, text
    return match.group(2), match.group(3).count("*"), bool(match.group(1)), match.group(4)


def header_structs():
    structs = {}
    for name, body in re.findall(r"typedef struct (\w+) \{(.*?)\} \1;", header_text(), flags=re.S):
        fields = []
        for statement in filter(str.strip, body.split(";")):
            first, *more = statement.split(",")
            base, stars, const, field = declaration(first)
            fields.append((field, c_type(base, stars, const)))
            for other in more:
                _, more_stars, _, field = declaration(base + " " + other)
                fields.append((field, c_type(base, more_stars, const)))
        structs[name] = fields
    return structs


def header_functions():
    functions = {}
    pattern = r"SCORE_API\s+([\w\s\*]+?)\s*(\w+)\s*\(([^)]*)\)\s*;"
    for result, name, arguments in re.findall(pattern, header_text()):
        argument_types = [] if arguments.strip() == "void" else [
            c_type(*declaration(argument)[:3]) for argument in arguments.split(",")]
        functions[name] = (c_type(*declaration(result + " x")[:3]), argument_types)
    return functions


def header_defines():
    return {name: int(value) for name, value in
            re.findall(r"#define (SCORE_\w+) \(?(-?\d+)\)?", header_text())}


def test_every_struct_is_mirrored_field_by_field():
    structs = header_structs()
    assert set(structs) == set(STRUCTS)
    for name, fields in structs.items():
        assert STRUCTS[name]._fields_ == fields, name


def test_every_function_is_declared_with_the_header_types():
    functions = header_functions()
    assert set(functions) == set(_library._PROTOTYPES)
    for name, (result, arguments) in functions.items():
        declared_result, declared_arguments = _library._PROTOTYPES[name]
        assert declared_result == result, name
        assert declared_arguments == arguments, name


def test_callback_types_match_the_header():
    text = header_text()
    for name, callback in CALLBACKS.items():
        result, arguments = re.search(
            r"typedef\s+([\w\s\*]+?)\s*\(\*" + name + r"\)\(([^)]*)\);", text).groups()
        assert callback._restype_ == c_type(*declaration(result + " x")[:3]), name
        expected = [c_type(*declaration(argument)[:3]) for argument in arguments.split(",")]
        assert list(callback._argtypes_) == expected, name


def test_constants_match_the_header():
    defines = header_defines()
    assert _library.EXPECTED_VERSION == (defines["SCORE_VERSION_MAJOR"], defines["SCORE_VERSION_MINOR"])
    statuses = {name[4:].lower(): value for name, value in vars(errors).items() if name.startswith("ERR_")}
    named = {
        "SCORE_ERR_": statuses,
        "SCORE_PLAN_": trainer.PLANS,
        "SCORE_SHAPING_": trainer.SHAPINGS,
        "SCORE_KL_": trainer.KL_ESTIMATORS,
        "SCORE_BASELINE_": trainer.BASELINES,
        "SCORE_VERIFIER_": trainer.BUILTIN_VERIFIERS,
        "SCORE_EVAL_": trainer.EVAL_PROTOCOLS,
        "SCORE_CONFIDENCE_": policy.CONFIDENCE_MEASURES,
        "SCORE_LOG_": log.LEVELS,
        "SCORE_PHASE_": {member.name.lower(): member for member in types.Phase},
        "SCORE_STAGE_": {"i": types.Stage.STAGE_I, "ii": types.Stage.STAGE_II,
                         "single_turn": types.Stage.SINGLE_TURN},
    }
    for prefix, names in named.items():
        in_header = {name[len(prefix):].lower(): value
                     for name, value in defines.items() if name.startswith(prefix)}
        assert in_header == dict(names), prefix
    assert errors.OK == defines["SCORE_OK"]
