"""Tests of chainrule.parallel: a package, so its conftest does not shadow tests/conftest.py."""
