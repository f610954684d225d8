# Generated from spec/openapi.yaml by mcp-oauth-dynamicclient codegen. Do not edit.
"""The cattrs converter for these models; not cattrs' global one, so other code can't change it.

It structures JSON strictly (a wrong type is an error naming the field), keeps unknown members
in each model's ``extra`` mapping and omits unset optional fields when unstructuring.
"""

from mcp_oauth_dynamicclient import runtime

converter = runtime.make_converter()
