"""`python -m grader ...` is the same as `mtdg ...`."""

from grader.cli import main

raise SystemExit(main())
