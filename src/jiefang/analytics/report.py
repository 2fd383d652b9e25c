"""The monthly district report: governance index and its parts, coverage by hour and by street,
index history, weakest streets; written as one HTML file (inline SVG charts) and one PDF (A4).

Charts are drawn with matplotlib (Agg, no display, no browser); Chinese text needs a CJK font
(Debian's fonts-noto-cjk), which the CI installs.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from jiefang.analytics.cells import CellCache
from jiefang.analytics.governance import SYSTEM, compute_index, index_history, month
from jiefang.analytics.schemas import CoverageOut, IndexHistory, IndexRow
from jiefang.analytics.service import coverage
from jiefang.areas.models import Area
from jiefang.config import Settings
from jiefang.errors import NotFound
from jiefang.incidents.playbooks import Playbook

STYLE: dict[str, Any] = {
    "font.sans-serif": ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "DejaVu Sans"],
    "font.family": "sans-serif",
    "axes.unicode_minus": False,
    "svg.fonttype": "path",  # self-contained HTML: glyphs as paths, no font needed to view it
}
A4 = (8.27, 11.69)
REPORT_HOUR = 10  # the street table and map figures are for mid-morning rosters


@dataclass(frozen=True)
class ReportData:
    district: Area
    period: str
    index: IndexRow
    districts_ranked: int
    streets: list[IndexRow]
    by_hour: list[CoverageOut]
    history: IndexHistory
    generated_at: datetime


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    pdf: Path


def find_district(session: Session, name_or_code: str) -> Area:
    """Return the district whose code is ``name_or_code`` or whose name starts with it (天河 → 天河区).

    Raises NotFound when none or several match.
    """
    found = list(
        session.scalars(
            select(Area).where(
                Area.level == "district",
                or_(
                    Area.code == name_or_code, Area.name.startswith(name_or_code), Area.name_en.startswith(name_or_code)
                ),
            )
        )
    )
    if len(found) != 1:
        raise NotFound(f"no single district named {name_or_code!r} ({len(found)} match)")
    return found[0]


def gather_report(
    session: Session,
    settings: Settings,
    cache: CellCache,
    district: Area,
    period: str,
    playbooks: Mapping[str, Playbook],
) -> ReportData:
    """Return everything the report shows; the month's index is computed and recorded in the history."""
    tz = ZoneInfo(settings.timezone)
    window = month(period, tz)
    mid = window.since.astimezone(tz).date().replace(day=15)
    districts = compute_index(session, settings, cache, "district", period, playbooks)
    row = next(r for r in districts.rows if r.area_id == district.id)
    streets = compute_index(session, settings, cache, "street", period, playbooks, district_id=district.id).rows
    streets = [r for r in streets if r.area_id != district.id]
    by_hour = [
        coverage(session, settings, cache, None, SYSTEM, hour=h, on=mid, district_id=district.id) for h in range(24)
    ]
    return ReportData(
        district=district,
        period=period,
        index=row,
        districts_ranked=sum(1 for r in districts.rows if r.rank),
        streets=streets,
        by_hour=by_hour,
        history=index_history(session, district.id),
        generated_at=datetime.now(tz),
    )


# ---- charts ---------------------------------------------------------------------------------


def _parts_chart(ax: Axes, row: IndexRow) -> None:
    names = [p.name for p in row.parts][::-1]
    points = [p.points for p in row.parts][::-1]
    colours = ["#1d4ed8" if p.value is not None else "#cbd5e1" for p in row.parts][::-1]
    bars = ax.barh(names, points, color=colours)
    for bar, part in zip(bars, row.parts[::-1], strict=True):
        text = (
            "无数据（未计入）"
            if part.value is None
            else f"{part.value:.1%} × {part.effective_weight:.2f} = {part.points:.1f}"
        )
        ax.text(bar.get_width() + 0.5, bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=8)
    ax.set_xlim(0, max([*points, 10.0]) * 1.8)
    ax.set_xlabel("得分贡献（分）")
    ax.set_title(f"综治指数 {row.score:.1f} 分的构成" if row.score is not None else "综治指数：无数据")


def _hours_chart(ax: Axes, by_hour: list[CoverageOut]) -> None:
    hours = list(range(24))
    for i, (label, colour) in enumerate((("1分钟", "#15803d"), ("3分钟", "#1d4ed8"), ("5分钟", "#f59e0b"))):
        ax.plot(hours, [c.shares.area[i] * 100 for c in by_hour], marker="o", ms=3, label=label, color=colour)
    ax2 = ax.twinx()
    ax2.bar(hours, [c.responders for c in by_hour], color="#94a3b8", alpha=0.35, label="排班在岗人数")
    ax2.set_ylabel("排班在岗人数")
    ax2.set_ylim(bottom=0, top=max([*(c.responders for c in by_hour), 1]) * 1.1)
    ax.set_zorder(ax2.get_zorder() + 1)
    ax.patch.set_visible(False)
    ax.set_xticks(range(0, 24, 2))
    ax.set_ylim(0, 100)
    ax.set_xlabel("时段（时）")
    ax.set_ylabel(f"面积覆盖率 %（第 {by_hour[0].k} 近队员）")
    ax.set_title("各时段 1-3-5 覆盖（按排班）")
    ax.legend(loc="upper left", fontsize=8)


def _streets_chart(ax: Axes, cov: CoverageOut) -> None:
    areas = sorted(cov.areas, key=lambda a: a.unit_area_share[1])[:20]
    names = [a.name for a in areas]
    ax.barh(names, [a.unit_area_share[1] * 100 for a in areas], color="#1d4ed8", label="距单元 3 分钟")
    ax.barh(names, [a.weight_share[1] * 100 for a in areas], color="#f59e0b", height=0.4, label="排班队员 3 分钟")
    ax.set_xlim(0, 100)
    ax.set_xlabel("3 分钟覆盖率 %")
    ax.set_title("各镇街 3 分钟覆盖（最弱在上）")
    ax.invert_yaxis()
    ax.legend(loc="lower right", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)


def _history_chart(ax: Axes, history: IndexHistory) -> None:
    points = [(p.period, p.score) for p in history.points if p.score is not None]
    ax.plot([p for p, _ in points], [s for _, s in points], marker="o", color="#1d4ed8")
    ax.set_ylim(0, 100)
    ax.set_title("综治指数历史")
    ax.set_ylabel("分")
    ax.tick_params(axis="x", labelrotation=45, labelsize=8)


def _summary_lines(data: ReportData) -> list[str]:
    row, day = data.index, data.by_hour[REPORT_HOUR]
    rank = f"第 {row.rank} 名 / 共 {data.districts_ranked} 个区" if row.rank else "未排名"
    return [
        f"综治指数：{row.score:.1f} 分（{rank}）" if row.score is not None else "综治指数：无数据",
        f"辖区单元 {day.units} 个；{REPORT_HOUR}时排班在岗 {day.responders} 人",
        "距单元 1/3/5 分钟面积覆盖：" + " / ".join(f"{s:.1%}" for s in day.shares.unit_area),
        f"{REPORT_HOUR}时第 {day.k} 近队员 1/3/5 分钟面积覆盖：" + " / ".join(f"{s:.1%}" for s in day.shares.area),
        "无数据、未计入（权重已按比例重新分配）：" + ("、".join(p.name for p in row.parts if p.value is None) or "无"),
    ]


def _figures(data: ReportData) -> list[Figure]:
    title = f"{data.district.name} 最小应急单元月度分析报告 · {data.period}"
    page1 = Figure(figsize=A4)
    page1.text(0.07, 0.95, title, fontsize=16, weight="bold")
    page1.text(
        0.07,
        0.925,
        f"生成于 {data.generated_at:%Y-%m-%d %H:%M}（{data.generated_at.tzname()}）",
        fontsize=9,
        color="#475569",
    )
    for i, line in enumerate(_summary_lines(data)):
        page1.text(0.07, 0.88 - i * 0.025, "• " + line, fontsize=10)
    _parts_chart(page1.add_axes((0.25, 0.45, 0.55, 0.27)), data.index)
    _hours_chart(page1.add_axes((0.1, 0.07, 0.78, 0.28)), data.by_hour)
    page2 = Figure(figsize=A4)
    _streets_chart(page2.add_axes((0.25, 0.42, 0.68, 0.53)), data.by_hour[REPORT_HOUR])
    _history_chart(page2.add_axes((0.1, 0.07, 0.83, 0.25)), data.history)
    return [page1, page2]


# ---- files ------------------------------------------------------------------------------------


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.find("<svg") :]


def _street_table(rows: list[IndexRow]) -> str:
    keys = [p.name for p in rows[0].parts] if rows else []
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = []
    for r in sorted(rows, key=lambda r: -(r.score or 0)):
        cells = "".join(
            f"<td title='{html.escape(p.detail)}'>{'无数据' if p.value is None else f'{p.value:.1%}'}</td>"
            for p in r.parts
        )
        score = "—" if r.score is None else f"{r.score:.1f}"
        body.append(f"<tr><td>{html.escape(r.name)}</td><td>{score}</td>{cells}</tr>")
    return f"<table><thead><tr><th>镇街</th><th>得分</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def write_report(data: ReportData, out_dir: Path) -> ReportFiles:
    """Write ``<code>-<month>.html`` and ``.pdf`` into ``out_dir`` and return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"report-{data.district.code}-{data.period}"
    with matplotlib.rc_context(STYLE):  # type: ignore[arg-type]
        figures = _figures(data)
        pdf_path = stem.with_suffix(".pdf")
        with PdfPages(pdf_path, metadata={"Title": f"{data.district.name} {data.period}", "Creator": "jiefang"}) as pdf:
            for fig in figures:
                pdf.savefig(fig)
        charts = "".join(f"<figure>{_svg(fig)}</figure>" for fig in figures)
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in _summary_lines(data))
    title = html.escape(f"{data.district.name} 最小应急单元月度分析报告 · {data.period}")
    page = (
        f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:'Noto Sans CJK SC',sans-serif;max-width:900px;margin:2em auto;color:#0f172a}"
        "figure{margin:0}svg{width:100%;height:auto}table{border-collapse:collapse;width:100%;font-size:13px}"
        "td,th{border-bottom:1px solid #e2e8f0;padding:4px 6px;text-align:right}td:first-child,th:first-child"
        "{text-align:left}</style></head><body>"
        f"<h1>{title}</h1><ul>{lines}</ul>{charts}<h2>各镇街综治指数</h2>{_street_table(data.streets)}</body></html>"
    )
    html_path = stem.with_suffix(".html")
    html_path.write_text(page, encoding="utf-8")
    return ReportFiles(html=html_path, pdf=pdf_path)
