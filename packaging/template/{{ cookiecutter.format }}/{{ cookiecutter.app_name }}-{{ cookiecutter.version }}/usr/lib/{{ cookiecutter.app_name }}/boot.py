"""Start {{ cookiecutter.formal_name }} from its system package.

Run by /usr/bin/{{ cookiecutter.app_name }} as ``python{{ cookiecutter.python_version }} -I -S boot.py ARGS``:
puts the bundled app code and its packages (and their .pth files) on sys.path,
then runs the ``{{ cookiecutter.module_name }}`` module as ``__main__``.
"""

import os
import runpy
import site
import sys

_here = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.join(_here, "app"))
site.addsitedir(os.path.join(_here, "app_packages"))
sys.argv[0] = "{{ cookiecutter.app_name }}"
# The package is read-only (and owned by root once installed): no .pyc files.
sys.dont_write_bytecode = True
runpy.run_module("{{ cookiecutter.module_name }}", run_name="__main__", alter_sys=True)
