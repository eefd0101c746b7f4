"""The Inspector: a server's tools, prompts and resources from the live process, and
"Try it" (call a tool, get a prompt, read a resource) through the gateway's mux as an
in-process session (``gateway/internal.py``): no second process.

``schema_form`` (JSON Schema -> form fields -> arguments), ``arguments`` (the CLI's
``--arg key=value``), ``results`` (what a result holds, for the CLI and the window) are
pure; ``service`` talks to the gateway.
"""
