"""The inventory as one self-contained HTML page: no CDN, no network, works from a file.

Rows are rendered on the server (the page reads fine without JavaScript); a small script adds the
filter box, the importance and status selects, and sorting by clicking a column header.
"""

from __future__ import annotations

from ..views.inventory import APPROVED, UNAPPROVED, Row
from .escape import html as escape

LEVEL_ORDER = {"critical": 0, "high": 1, "moderate": 2, "low": 3}

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}.sub{color:#59636e;margin-bottom:16px}
.controls{display:flex;gap:8px;margin-bottom:12px;flex-wrap:wrap}
input,select{font:inherit;padding:5px 8px;border:1px solid #d1d9e0;border-radius:6px}
input{min-width:260px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #d1d9e0;vertical-align:top}
th{cursor:pointer;user-select:none;background:#f6f8fa;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.critical{background:#ffebe9;color:#a40e26}.high{background:#fff1e5;color:#9a4c00}
.moderate{background:#fff8c5;color:#7d4e00}.low{background:#dafbe1;color:#116329}
.approved{background:#dafbe1;color:#116329}.needs{background:#fff8c5;color:#7d4e00}
.unapproved{background:#cf222e;color:#fff}tr.unapproved-row td{background:#fff5f5}
tr.unapproved-row td:first-child{box-shadow:inset 4px 0 0 #cf222e}
.none{color:#8c959f}details summary{cursor:pointer;color:#0969da}
.hist{margin:6px 0 0;padding-left:18px;color:#59636e;font-size:12px}
#count{color:#59636e;align-self:center}
"""

SCRIPT = """
(function(){
  var body=document.querySelector('#inventory tbody'), rows=[].slice.call(body.rows);
  var q=document.getElementById('q'), imp=document.getElementById('importance'), st=document.getElementById('status');
  var count=document.getElementById('count');
  function apply(){
    var text=q.value.trim().toLowerCase(), shown=0;
    rows.forEach(function(r){
      var ok=(!text||r.textContent.toLowerCase().indexOf(text)>=0)&&(!imp.value||r.dataset.importance===imp.value)
        &&(!st.value||r.dataset.status===st.value);
      r.hidden=!ok; if(ok){shown++;}
    });
    count.textContent=shown+' of '+rows.length+' deployments';
  }
  [q,imp,st].forEach(function(el){el.addEventListener('input',apply);el.addEventListener('change',apply);});
  [].forEach.call(document.querySelectorAll('#inventory th'),function(th,i){
    th.addEventListener('click',function(){
      var dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
      [].forEach.call(th.parentNode.children,function(h){h.removeAttribute('aria-sort');});
      th.setAttribute('aria-sort',dir===1?'ascending':'descending');
      rows.sort(function(a,b){
        var x=a.cells[i].dataset.sort||a.cells[i].textContent, y=b.cells[i].dataset.sort||b.cells[i].textContent;
        return x.localeCompare(y,undefined,{numeric:true})*dir;
      });
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
  var hash=decodeURIComponent(location.hash.replace(/^#q=/,''));
  if(hash&&location.hash.indexOf('#q=')===0){q.value=hash;}
  apply();
})();
"""


def _history(row: Row) -> str:
    if not row.history:
        return '<span class="none">no deploys recorded</span>'
    items = []
    for h in row.history:
        model = h["data"].get("model", {})
        pr = h.get("approval", {}).get("pr")
        items.append(
            f"<li>{escape(h['at'])}: {escape(h['action'])} in {escape(h['environment'])} "
            f"({escape(str(model.get('version', '')))}, {escape(h['status'])}"
            f"{', PR #' + escape(str(pr)) if pr else ''})</li>"
        )
    return (
        f"<details><summary>{len(row.history)} recent</summary><ul "
        f'class="hist">{"".join(items)}</ul></details>'
    )


def render(rows: list[Row], env_names: list[str], generated_at: str, repository: str = "") -> str:
    head = "".join(f"<th>{escape(e)}</th>" for e in env_names)
    body = []
    for r in rows:
        # an unapproved change (on the default branch without approval) is the serious one: solid
        # red,
        # its row marked; needing approval (an open PR) is routine: amber
        status_class = {APPROVED: "approved", UNAPPROVED: "unapproved"}.get(r.status, "needs")
        mark = "⚠ " if r.status == UNAPPROVED else ""
        why = {
            UNAPPROVED: "its last change on the default branch came from no approved pull request",
            APPROVED: "as on the default branch, approved",
        }.get(r.status, "an open pull request changes it")
        prs = " ".join(f"#{n}" for n in r.prs)
        envs = "".join(
            f"<td>{escape(v) if v else '<span class=none>–</span>'}</td>"
            for v in (r.environments.get(e) for e in env_names)
        )
        body.append(
            f'<tr data-importance="{escape(r.importance)}" data-status="{escape(r.status)}"'
            f"{' class=unapproved-row' if r.status == UNAPPROVED else ''}>"
            f"<td><strong>{escape(r.name)}</strong><br><span "
            f'class="none">{escape(r.description)}</span></td>'
            f'<td data-sort="{LEVEL_ORDER.get(r.importance, 9)}"><span class="badge '
            f'{escape(r.importance)}">'
            f"{escape(r.importance)}</span></td>"
            f'<td><span class="badge {status_class}" '
            f'title="{escape(why)}">{mark}{escape(r.status)}</span> {escape(prs)}</td>'
            f"<td>{escape(', '.join(r.owners))}</td><td>{escape(r.model)}</td>{envs}<td>{_history(r)}</td></tr>"
        )
    options = "".join(f'<option value="{lv}">{lv}</option>' for lv in LEVEL_ORDER)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>foureyes inventory{" – " + escape(repository) if repository else ""}</title><style>{CSS}</style></head>
<body><h1>Model deployments</h1>
<div class="sub">{escape(repository)} · generated {escape(generated_at)} by foureyes</div>
<div class="controls"><input id="q" type="search" placeholder="Filter: name, owner, model…" aria-label="Filter">
<select id="importance" aria-label="Importance"><option value="">any importance</option>{options}</select>
<select id="status" aria-label="Status"><option value="">any status</option>
<option>Approved</option><option>Needs approval</option><option>Unapproved change</option></select><span id="count"></span></div>
<table id="inventory"><thead><tr><th>deployment</th><th>importance</th><th>status</th><th>owners</th>
<th>model</th>{head}<th>recent history</th></tr></thead>
<tbody>{"".join(body)}</tbody></table>
<script>{SCRIPT}</script></body></html>
"""
