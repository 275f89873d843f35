"""`python -m bulkgc` runs the command line."""

from bulkgc.cli import main

raise SystemExit(main())
