"""``python -m mock_amojo`` is the ``mock-amojo`` command."""

from .cli import main

raise SystemExit(main())
