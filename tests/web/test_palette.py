"""The lab draws in the figures' colours: GT.PALETTE (common.js) is gradtrace.plotting.PALETTE."""

from __future__ import annotations

import json
import re
from importlib.resources import files

from gradtrace.plotting import PALETTE


def test_the_web_palette_is_the_figures_palette_in_the_same_order():
    script = (files("gradtrace.web") / "static" / "common.js").read_text()
    found = re.search(r"GT\.PALETTE\s*=\s*(\[[^\]]*\])", script)
    assert found is not None
    assert json.loads(found.group(1)) == list(PALETTE)


def test_the_served_script_is_the_one_read_here(client):
    served = client.get("/static/common.js").text
    assert (files("gradtrace.web") / "static" / "common.js").read_text() == served
