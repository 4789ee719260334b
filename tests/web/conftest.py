"""A lab app over a data folder of synthetic results, for API tests and browser tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gradtrace.report.sample import write_samples
from gradtrace.web.app import create_app


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A data folder with study/, probe.json and monitor.jsonl."""
    return write_samples(tmp_path_factory.mktemp("lab-data"))


@pytest.fixture(scope="session")
def app(data_dir):
    return create_app(data_dir, probe_wait_s=0.2)


@pytest.fixture(scope="session")
def client(app):
    with TestClient(app, base_url="http://localhost") as c:
        yield c


SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextlib.contextmanager
def serve(folder):
    """A real uvicorn server over `folder` on a free localhost port, in a thread; its base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(folder), log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "the lab server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="session")
def server(data_dir):
    """The lab over the sample data folder, served for real; yields its base URL."""
    with serve(data_dir) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (the system's), shared by the browser tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def context(browser):
    """One browser context, so plotly.min.js is fetched once and then cached."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def _watched(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


@pytest.fixture
def page(context):
    """A fresh page that fails the test on any JavaScript error."""
    page, errors = _watched(context)
    yield page
    page.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def page_at(context, server):
    """page_at(path): one loaded page per path for the module (plotly.js parses once per page);
    each use checks that no JavaScript error happened."""
    pages: dict[str, tuple] = {}

    def get(path: str):
        if path not in pages:
            page, errors = _watched(context)
            page.goto(server + path)
            pages[path] = (page, errors)
        page, errors = pages[path]
        assert not errors, errors
        return page

    yield get
    for page, errors in pages.values():
        page.close()
        assert not errors, errors


@pytest.fixture
def shot():
    """Save a full-page screenshot under artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.evaluate("window.scrollTo(0, 0)")  # the sticky navigation stays on top
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
