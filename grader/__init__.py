"""The `mtdg` grader: catalog, isolated runs per exercise, reports, verification of the course itself."""
