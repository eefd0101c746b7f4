"""The Inspector's widgets: the Tools tab of a server (``panel.py``), the form generated
from a tool's input schema (``form.py``) and the result view (``result.py``)."""
