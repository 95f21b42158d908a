"""``python -m openai_bindings`` is the ``openai-bindings`` command."""

from .cli import main

raise SystemExit(main())
