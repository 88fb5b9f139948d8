"""Your exercises: one module per exercise, served to the framework by minitorch_dg.course."""
