"""setup.py - the loom package carries its own libloom.so and board files.

pip install ./python (from the repository; --no-build-isolation when the
machine has no network, with Debian's python3-setuptools) builds the
shared library with CMake, or copies the one named by
LOOM_PREBUILT_LIBRARY, into the package. The version is the project's,
read from ../CMakeLists.txt (its one home)."""
import glob
import os
import re
import shutil
import subprocess
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.environ.get("LOOM_SOURCE_ROOT") or os.path.dirname(HERE)


def project_version():
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    return re.search(r"project\(loom VERSION ([0-9.]+)", text).group(1)


class BuildWithLibrary(build_py):
    def run(self):
        super().run()
        dest = os.path.join(self.build_lib, "loom")
        lib = os.environ.get("LOOM_PREBUILT_LIBRARY")
        tmp = None
        if not lib:
            tmp = tempfile.mkdtemp(prefix="loom-py-build-")
            subprocess.check_call(["cmake", "-S", ROOT, "-B", tmp, "-DCMAKE_BUILD_TYPE=Release",
                                   "-DLOOM_BUILD_TESTS=OFF"])
            subprocess.check_call(["cmake", "--build", tmp, "--target", "loom_shared", "-j",
                                   str(os.cpu_count() or 2)])
            lib = glob.glob(os.path.join(tmp, "host", "libloom.so.*.*"))[0]
        shutil.copy(lib, os.path.join(dest, "libloom.so.0"))
        os.makedirs(os.path.join(dest, "boards"), exist_ok=True)
        for f in glob.glob(os.path.join(ROOT, "boards", "*.json")):
            shutil.copy(f, os.path.join(dest, "boards"))
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


setup(version=project_version(), cmdclass={"build_py": BuildWithLibrary})
