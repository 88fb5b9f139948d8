"""Reference solutions, module for module and name for name with exercises/ (instructors only)."""
