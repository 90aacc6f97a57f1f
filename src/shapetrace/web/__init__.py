"""The web calculator (``shapetrace serve``): the FastAPI app (``app``), the work behind each
call (``tasks``), worker processes with deadlines (``worker``), request bounds (``limits``,
``guard``, ``protocol``), the API's schemas (``schema``), the layer catalog and presets, and
the page itself (``static/``)."""
