"""``python -m mcp_oauth_dynamicclient.cli``: the ``mcp-oauth`` command."""

import sys

from . import main

sys.exit(main())
