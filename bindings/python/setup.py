"""Builds libscore (`make build` at the repository root) and bundles libscore.so in the package,
so that `pip install ./bindings/python` gives an `import libscore` that works from any folder.

The library links the Swift runtime statically (see the root Makefile): the wheel needs no Swift
toolchain at run time. Set LIBSCORE_SKIP_BUILD=1 to install the Python files alone (the library
is then found through LIBSCORE_PATH or a checkout's build folder).
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LIBRARY = "libscore.so"


def _make(*arguments):
    command = ["make", "--no-print-directory", "-C", str(ROOT), *arguments]
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


class BuildWithLibrary(build_py):
    """build_py, then the release library copied (stripped) into the built package."""

    def run(self):
        super().run()
        if os.environ.get("LIBSCORE_SKIP_BUILD") == "1":
            return
        if not (ROOT / "Makefile").is_file() or not (ROOT / "Package.swift").is_file():
            raise RuntimeError(f"{ROOT} is not a libscore checkout: build the package from one "
                               "(pip install ./bindings/python), or set LIBSCORE_SKIP_BUILD=1")
        print(_make("build"), end="")
        built = Path(_make("-s", "print-bin-dir").strip()) / LIBRARY
        target = Path(self.build_lib) / "libscore" / LIBRARY
        shutil.copyfile(built, target)
        subprocess.run(["strip", "--strip-unneeded", str(target)], check=True)
        target.chmod(0o755)


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for the platform, not as pure Python."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
