"""The monthly district report: HTML and PDF written, PDF page 1 rendered to PNG with pdftoppm."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from matplotlib.image import imread

from jiefang.analytics.cells import CellCache
from jiefang.analytics.report import find_district, gather_report, write_report
from jiefang.errors import NotFound
from jiefang.incidents.playbooks import shipped_playbooks


def test_report_pdf_first_page_renders_to_png(settings, sessions, tmp_path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (Debian poppler-utils) is needed to render the report")
    with sessions() as session:
        district = find_district(session, "天河")
        data = gather_report(session, settings, CellCache(), district, "2026-10", shipped_playbooks())
        files = write_report(data, tmp_path)
    assert files.pdf.read_bytes().startswith(b"%PDF")
    page = files.html.read_text(encoding="utf-8")
    assert "天河区" in page and page.count("<svg") == 2 and "无数据" in page
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(files.pdf), str(tmp_path / "page1")],
        check=True,
        timeout=60,
    )
    png = tmp_path / "page1.png"
    image = imread(png)
    assert image.shape[0] > image.shape[1] > 400  # A4 portrait at 60 dpi: 496 × 701
    ink = (image[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.005 < ink < 0.5  # text and charts drawn, not a blank or black page
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(files.pdf), "-"], capture_output=True, check=True, timeout=60, text=True
    ).stdout
    assert "2026-10" in text
    print(f"report page 1 rendered to {png}")
    assert np.isfinite(image).all()


def test_unknown_district_is_refused(sessions) -> None:  # type: ignore[no-untyped-def]
    with sessions() as session, pytest.raises(NotFound):
        find_district(session, "不存在")
