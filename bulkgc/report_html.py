"""The HTML report: one self-contained page with a card per localization (thumbnail, state, Apple's codes).

It renders the same `RunReport` the JSON report is written from (a push's, a plan's through
`Plan.report_items()`, or the last push's kept beside the journal for `bulkgc status --html`). Cards are
grouped by the items' Game Center kind (`ItemResult.gc_kind`); nothing here knows what a kind's fields are.
Thumbnails (`bulkgc.thumbnails`) are embedded as data: URIs and the page loads nothing else (its
Content-Security-Policy forbids it), so it works offline and as a CI artifact. Filters by state, kind and
locale are plain JavaScript; the state is always written as text (and a symbol), never only as a colour.
"""

from __future__ import annotations

import base64
import html
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bulkgc.progress import format_bytes
from bulkgc.redact import redact_text
from bulkgc.report import RunReport, _write_atomic, advice_for, check_output_path
from bulkgc.thumbnails import KEY_LEN, MIME, THUMB_EDGE, ThumbnailCache

#: card states, most urgent first: the page lists cards in this order ("failures first")
STATES = ("failed", "blocked", "interrupted", "skipped", "planned", "complete", "unchanged")
# item outcome -> card state ("done" reads as Apple's word for a finished image)
_STATE_OF_OUTCOME = {"done": "complete"}
_LABELS = {
    "failed": ("\u2716", "FAILED"),
    "blocked": ("\u2016", "BLOCKED"),
    "interrupted": ("\u25a0", "INTERRUPTED"),
    "skipped": ("\u00bb", "SKIPPED"),
    "planned": ("\u270e", "WILL CHANGE"),
    "complete": ("\u2714", "COMPLETE"),
    "unchanged": ("=", "UNCHANGED"),
}
_IMAGE_DONE = {"upload": "icon uploaded", "replace": "icon replaced", "resume": "upload resumed and finished",
               "wait": "processing finished"}
_IMAGE_PLANNED = {"upload": "icon to upload", "replace": "icon to replace", "resume": "upload to resume",
                  "wait": "still processing"}
_TEXT_DONE = {"create": "localization created", "update": "texts updated"}
_TEXT_PLANNED = {"create": "localization to create", "update": "texts to update"}


@dataclass
class Card:
    """One localization as the report shows it (its texts' item and its image's item, merged)."""

    kind: str
    vendor_identifier: str
    locale: str
    state: str  # one of STATES (or an outcome the page does not know, shown as is)
    codes: list[str] = field(default_factory=list)
    message: str = ""
    text_action: str = "none"
    image_action: str = "none"
    image_state: str | None = None  # Apple's assetDeliveryState, when known
    container_state: str | None = None  # e.g. the version state that blocked it
    changes: dict[str, list[str | None]] = field(default_factory=dict)
    digest: str | None = None
    previous_digest: str | None = None
    file: str | None = None

    @property
    def advice(self) -> str:
        """What to do next, for cards that need something done."""
        if self.state in ("failed", "blocked"):
            return advice_for(self.codes)
        if self.state == "interrupted":
            return "run the same command again to resume; finished items are not redone"
        return ""


def _rank(state: str) -> float:
    # an outcome this page does not know goes just before "planned": shown, and not hidden among the done
    return float(STATES.index(state)) if state in STATES else STATES.index("planned") - 0.5


def build_cards(report: RunReport) -> list[Card]:
    """One card per localization of the report's items, failures first (then in the report's order)."""
    parents: dict[tuple[str, str], Any] = {}
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for item in report.items:
        if item.locale is None:
            parents[(item.gc_kind, item.vendor_identifier)] = item
        else:
            groups.setdefault((item.gc_kind, item.vendor_identifier, item.locale), {})[item.kind] = item
    cards: list[Card] = []
    for (kind, vendor, locale), members in groups.items():
        image = members.get("image")
        texts = members.get("localization")
        # the image's item decides first (its code is the one to act on), then the texts'
        present = [i for i in (image, texts) if i is not None]
        present += [v for k, v in members.items() if k not in ("image", "localization")]
        states = [_STATE_OF_OUTCOME.get(i.outcome, i.outcome) for i in present]
        state = min(states, key=_rank)
        decisive = next(i for i, s in zip(present, states, strict=True) if s == state)
        codes = list(decisive.error_codes)
        message = decisive.message
        parent = parents.get((kind, vendor))
        if state == "skipped" and parent is not None and parent.outcome == "failed":
            codes = codes or list(parent.error_codes)  # skipped because its parent failed: show why
            message = f"{message}: {parent.message}" if message else parent.message
        card = Card(kind=kind, vendor_identifier=vendor, locale=locale, state=state, codes=codes,
                    message=redact_text(message),
                    container_state=decisive.container_state or (parent.container_state if parent else None))
        if texts is not None:
            card.text_action, card.changes = texts.action, dict(texts.changes)
        if image is not None:
            card.image_action, card.image_state = image.action, image.final_state
            card.digest, card.previous_digest, card.file = image.digest, image.previous_digest, image.file
        cards.append(card)
    cards.sort(key=lambda c: _rank(c.state))  # stable: report order within a state
    return cards


def thumbnails_for(cards: list[Card], cache: ThumbnailCache) -> dict[str, bytes]:
    """The thumbnails the cards show: new icons from the cache or files, replaced ones from the cache."""
    wanted: list[tuple[str, str | None]] = []
    for card in cards:
        if card.digest:
            wanted.append((card.digest, card.file))
        if card.previous_digest:
            wanted.append((card.previous_digest, None))
    return cache.get_many(wanted)


# ---------------------------------------------------------------------------------------------- rendering


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _iso(t: float | None) -> str:
    return "-" if t is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _figure(thumbs: Mapping[str, bytes], digest: str | None, alt: str, caption: str) -> str:
    thumb = thumbs.get(digest[:KEY_LEN]) if digest else None
    short = digest[:KEY_LEN] if digest else "none"
    if thumb is None:
        why = "no icon" if not digest else f"no thumbnail kept for {short}"
        img = f'<div class="nothumb" role="img" aria-label="{_e(alt)}: {_e(why)}">{_e(why)}</div>'
    else:
        data = base64.b64encode(thumb).decode("ascii")
        img = (f'<img src="data:{MIME};base64,{data}" width="{THUMB_EDGE}" height="{THUMB_EDGE}" '
               f'alt="{_e(alt)}">')
    return f'<figure>{img}<figcaption>{_e(caption)} <code>{_e(short)}</code></figcaption></figure>'


def _what(card: Card, planned: bool) -> str:
    image_words = (_IMAGE_PLANNED if planned else _IMAGE_DONE).get(card.image_action)
    text_words = (_TEXT_PLANNED if planned else _TEXT_DONE).get(card.text_action)
    if card.state in ("failed", "blocked", "skipped", "interrupted"):  # the change did not (all) happen
        image_words = _IMAGE_PLANNED.get(card.image_action)
        text_words = _TEXT_PLANNED.get(card.text_action)
    words = "; ".join(w for w in (text_words, image_words) if w) or "nothing to change"
    if card.state in ("failed", "blocked", "skipped", "interrupted") and words != "nothing to change":
        return f"not done: {words}"
    return words


def render_card(card: Card, thumbs: Mapping[str, bytes], *, planned: bool) -> str:
    """One card's HTML."""
    symbol, label = _LABELS.get(card.state, ("?", card.state.upper()))
    name = f"{card.vendor_identifier} ({card.locale})"
    if card.previous_digest:
        pics = (_figure(thumbs, card.previous_digest, f"previous icon of {name}", "before")
                + '<span class="arrow" aria-hidden="true">\u2192</span>'
                + _figure(thumbs, card.digest, f"new icon of {name}", "after" if not planned else "new"))
    else:
        pics = _figure(thumbs, card.digest, f"icon of {name}", "icon")
    status = f'<span class="badge"><span aria-hidden="true">{symbol}</span> {_e(label)}</span>'
    if card.state == "blocked" and card.container_state:
        status += f' <span class="why">version {_e(card.container_state)}</span>'
    if card.image_state and card.image_state not in ("COMPLETE",) and card.state not in ("planned",):
        status += f' <span class="why">image {_e(card.image_state)}</span>'
    codes = "".join(f'<code class="code">{_e(c)}</code> ' for c in card.codes)
    parts = [
        f'<article class="card s-{_e(card.state)}" data-state="{_e(card.state)}" data-kind="{_e(card.kind)}" '
        f'data-locale="{_e(card.locale)}" data-vendor="{_e(card.vendor_identifier)}" '
        f'data-image-action="{_e(card.image_action)}" data-text-action="{_e(card.text_action)}" '
        f'data-codes="{_e(" ".join(card.codes))}">',
        f'<div class="thumbs">{pics}</div>',
        '<div class="body">',
        f'<h3 class="vendor">{_e(card.vendor_identifier)}</h3>',
        f'<p class="meta"><span class="kind">{_e(card.kind)}</span> \u00b7 '
        f'<span class="locale" lang="{_e(card.locale)}">{_e(card.locale)}</span></p>',
        f'<p class="state">{status}</p>',
        f'<p class="what">{_e(_what(card, planned))}</p>',
    ]
    if codes:
        parts.append(f'<p class="codes">Apple: {codes.strip()}</p>')
    if card.message and card.state != "unchanged":
        parts.append(f'<p class="message">{_e(card.message)}</p>')
    if card.advice:
        parts.append(f'<p class="advice"><strong>What to do:</strong> {_e(card.advice)}</p>')
    if card.changes:
        rows = "".join(
            f'<dt>{_e(attr)}</dt>'
            f'<dd><del>{_e(redact_text(old)) if old is not None else "<i>(none)</i>"}</del> '
            f'<span aria-label="becomes">\u2192</span> <ins>{_e(redact_text(new or ""))}</ins></dd>'
            for attr, (old, new) in card.changes.items()
        )
        parts.append(f'<dl class="changes">{rows}</dl>')
    parts.append("</div></article>")
    return "".join(parts)


_CSS = """
:root{--fg:#1d1d1f;--muted:#5f6368;--bg:#f5f5f7;--card:#fff;--line:#d2d2d7}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif;color:var(--fg);background:var(--bg)}
header,main{max-width:1400px;margin:0 auto;padding:16px 24px}
h1{font-size:24px;margin:8px 0}h2{font-size:19px;margin:24px 0 8px}
h3{font-size:15px;margin:0;word-break:break-all}
.target,.meta,.muted,figcaption{color:var(--muted)}
.summary{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0}
.chip{border:1px solid var(--line);background:var(--card);border-radius:16px;padding:4px 12px;font:inherit;
cursor:pointer}
.chip b{font-size:17px}
.totals{display:flex;flex-wrap:wrap;gap:4px 20px;margin:8px 0;padding:0;list-style:none}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:center;padding:10px 0;
border-top:1px solid var(--line);border-bottom:1px solid var(--line)}
select{font:inherit;padding:2px 4px}
.sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-left:6px solid var(--line);border-radius:8px;
padding:10px;display:flex;flex-direction:column;gap:8px}
.thumbs{display:flex;align-items:center;gap:8px}
figure{margin:0;text-align:center;font-size:11px}
figure img,.nothumb{width:96px;height:96px;border-radius:18px;display:block;border:1px solid var(--line)}
.nothumb{display:flex;align-items:center;justify-content:center;padding:6px;font-size:11px;
background:repeating-linear-gradient(45deg,#eee,#eee 6px,#f8f8f8 6px,#f8f8f8 12px)}
.arrow{font-size:18px}
.body{min-width:0;overflow-wrap:anywhere}
.body p{margin:3px 0}
.badge{font-weight:700;letter-spacing:.02em}
.why{font-size:13px;color:var(--muted)}
.code{background:#f1f1f4;border-radius:4px;padding:0 4px;font-size:12px;word-break:break-all}
.advice{font-size:13px}
.changes{margin:6px 0 0;font-size:13px}.changes dt{font-weight:600}.changes dd{margin:0 0 4px 8px}
del{color:#a4262c}ins{color:#0b6a0b;text-decoration:none;font-weight:600}
.s-failed{border-width:2px 2px 2px 8px;border-color:#c5221f}.s-failed .badge{color:#a50e0e}
.s-blocked{border-left-color:#b06000;border-style:dashed dashed dashed solid}.s-blocked .badge{color:#8a4b00}
.s-interrupted,.s-skipped{border-left-color:#8e8e93}
.s-planned{border-left-color:#1a73e8}.s-planned .badge{color:#174ea6}
.s-complete{border-left-color:#188038}.s-complete .badge{color:#0d652d}
.s-unchanged{opacity:.85}
[hidden]{display:none!important}
"""

_JS = """
(function(){
  var keys=['state','kind','locale'];
  var cards=Array.prototype.slice.call(document.querySelectorAll('article.card'));
  var sel={};keys.forEach(function(k){sel[k]=document.getElementById('f-'+k);});
  function apply(){
    var shown=0;
    cards.forEach(function(c){
      var ok=keys.every(function(k){return !sel[k].value||c.getAttribute('data-'+k)===sel[k].value;});
      c.hidden=!ok;if(ok)shown++;
    });
    document.querySelectorAll('section.kind').forEach(function(s){
      s.hidden=!s.querySelector('article.card:not([hidden])');
    });
    document.getElementById('shown').textContent=shown+' of '+cards.length+' localizations shown';
    var h=keys.filter(function(k){return sel[k].value;}).map(function(k){
      return k+'='+encodeURIComponent(sel[k].value);}).join('&');
    try{history.replaceState(null,'',h?'#'+h:location.pathname+location.search);}catch(e){}
  }
  location.hash.slice(1).split('&').forEach(function(pair){
    var kv=pair.split('=');var k=kv[0],v=decodeURIComponent(kv[1]||'');
    if(sel[k]&&Array.prototype.some.call(sel[k].options,function(o){return o.value===v;}))sel[k].value=v;
  });
  keys.forEach(function(k){sel[k].addEventListener('change',apply);});
  document.querySelectorAll('[data-filter-state]').forEach(function(b){
    b.addEventListener('click',function(){sel.state.value=b.getAttribute('data-filter-state');apply();});
  });
  apply();
})();
"""

# Nothing may be fetched: thumbnails are data: URIs, style and script are inline.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _select(key: str, label: str, values: list[str], names: Mapping[str, str] | None = None) -> str:
    options = '<option value="">all</option>' + "".join(
        f'<option value="{_e(v)}">{_e((names or {}).get(v, v))}</option>' for v in values)
    return f'<label>{_e(label)} <select id="f-{key}">{options}</select></label>'


def _totals(report: RunReport) -> list[str]:
    t = report.totals
    out = [f"duration {_e(_duration(report.duration))}"]
    by_method: dict[str, int] = t.get("requests_by_method") or {}
    if by_method:
        methods = ", ".join(f"{m} {n}" for m, n in sorted(by_method.items()))
        out.append(f"{sum(by_method.values())} requests ({_e(methods)})")
    if "expected_requests" in t:
        out.append(f"{_e(t['expected_requests'])} requests expected")
    for key, words in (("rate_limited", "429 rate limited"), ("retries", "retries"), ("polls", "polls")):
        if key in t:
            out.append(f"{_e(t[key])} {words}")
    if t.get("bytes_uploaded"):
        out.append(f"uploaded {_e(format_bytes(int(t['bytes_uploaded'])))}")
    return out


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else (f"{m}m {s:02d}s" if m else f"{s}s")


def render_html(report: RunReport, thumbs: Mapping[str, bytes], *, title: str | None = None,
                note: str = "") -> str:
    """The whole page for `report`; `thumbs` maps 12-digit digests to thumbnails (see `thumbnails_for`)."""
    cards = build_cards(report)
    planned = report.command == "plan"
    title = title or f"bulkgc {report.command} report"
    counts: dict[str, int] = {}
    for card in cards:
        counts[card.state] = counts.get(card.state, 0) + 1
    states = sorted(counts, key=_rank)
    kinds = list(dict.fromkeys(c.kind for c in cards))
    locales = sorted({c.locale for c in cards})
    target = report.target
    where = " \u00b7 ".join(f"{label} {_e(redact_text(target[key]))}" for key, label in (
        ("base_url", "sent to" if not planned else "read from"), ("app_id", "app"), ("api", "API"),
        ("key_id", "key id")) if target.get(key))
    chips = "".join(
        f'<button type="button" class="chip" data-filter-state="{_e(s)}" title="show only these">'
        f'<b>{counts[s]}</b> <span aria-hidden="true">{_LABELS.get(s, ("", ""))[0]}</span> '
        f'{_e(_LABELS.get(s, ("", s.upper()))[1].lower())}</button>'
        for s in states)
    outcome = ""
    if not planned:
        outcome = f"exit code {report.exit_code}" + (" (interrupted: run the same command again to resume)"
                                                     if report.interrupted else "")
    totals = "".join(f"<li>{t}</li>" for t in ([outcome] if outcome else []) + _totals(report))
    sections = []
    for kind in kinds:
        mine = [c for c in cards if c.kind == kind]
        body = "".join(render_card(c, thumbs, planned=planned) for c in mine)
        sections.append(
            f'<section class="kind" data-kind="{_e(kind)}" aria-labelledby="k-{_e(kind)}">'
            f'<h2 id="k-{_e(kind)}">{_e(kind)} \u00b7 {len(mine)} '
            f'localization{"s" if len(mine) != 1 else ""}</h2>'
            f'<div class="sheet">{body}</div></section>')
    empty = "" if cards else '<p class="muted">No localizations in this report.</p>'
    state_names = {s: _LABELS.get(s, ("", s))[1].lower() for s in states}
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1>"
        f'<p class="target">{where}</p>'
        f'<p class="muted">started {_e(_iso(report.started))} \u00b7 finished {_e(_iso(report.finished))}'
        f'{" · " + _e(note) if note else ""}</p>'
        f'<div class="summary" aria-label="localizations by state">{chips}</div>'
        f'<ul class="totals">{totals}</ul>'
        f'<div class="filters" role="search">{_select("state", "State", states, state_names)}'
        f'{_select("kind", "Kind", kinds)}{_select("locale", "Locale", locales)}'
        f'<span id="shown" aria-live="polite">{len(cards)} localizations</span></div></header>'
        f'<main>{empty}{"".join(sections)}</main>'
        f"<script>{_JS}</script></body></html>\n"
    )


def write_html_report(report: RunReport, path: str | os.PathLike[str], cache: ThumbnailCache, *,
                      title: str | None = None, note: str = "") -> None:
    """Render `report` with thumbnails from `cache` (made and cached when missing) and write it atomically."""
    thumbs = thumbnails_for(build_cards(report), cache)
    _write_atomic(path, render_html(report, thumbs, title=title, note=note).encode("utf-8"))


def check_writable(path: Path, flag: str) -> None:
    """Refuse, before any work, an HTML report path that cannot be written (OutputPathError naming `flag`)."""
    check_output_path(path, flag)
