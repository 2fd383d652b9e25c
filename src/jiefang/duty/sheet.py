"""A printable A5 sheet for a post's QR code (HTML, printed from the browser)."""

from __future__ import annotations

from html import escape


def post_sheet_html(unit_name: str, unit_code: str, post_name: str, version: int, svg: str, token: str) -> str:
    """Return a self-contained A5 HTML page with the post's QR code and instructions (zh/en)."""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{escape(unit_name)} · {escape(post_name)} · 立码报</title>
<style>
@page {{ size: A5 portrait; margin: 12mm; }}
body {{ font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; text-align: center; color: #111; }}
h1 {{ font-size: 20pt; margin: 0 0 4mm; }} h2 {{ font-size: 14pt; margin: 0 0 6mm; font-weight: normal; }}
.qr svg {{ width: 95mm; height: 95mm; }} p {{ font-size: 11pt; margin: 2mm 0; }}
.code {{ font-family: monospace; font-size: 10pt; }} .meta {{ font-size: 8pt; color: #555; margin-top: 6mm; }}
</style></head>
<body>
<h1>{escape(unit_name)}</h1>
<h2>{escape(post_name)} · 立码报 上岗签到</h2>
<div class="qr">{svg}</div>
<p>队员请用手机扫描此码上岗/下岗（需开启定位）。</p>
<p>Members: scan this code with your phone to go on or off duty (location required).</p>
<p class="code">手动输入码 / manual code: <b>{escape(token)}</b></p>
<p class="meta">{escape(unit_code)} · 版本 v{version} · 重新生成后旧码失效 / a new code voids this print</p>
</body></html>"""
