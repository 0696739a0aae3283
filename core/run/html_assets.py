"""The style sheet and script inlined into ``reports/index.html`` (no network, one file).

The script does three things: it draws every timeline from the JSON the page embeds (so a
browser that renders the page has run it: the Chromium test looks for the drawn steps), it wires
the filters of the verdict table and of the findings, and nothing else. A timeline follows
Porcupine's history view, turned to our logical time: one horizontal lane per task, one column
per scheduler step shown (the steps that matter, :mod:`core.sched.timeline`; the axis marks each
gap with a dashed line and the step number it jumps to), a box per step on the lane that ran
it. A step where the chooser picked among several runnable lanes is outlined and labelled with
its pick (``1/3``); an injected fault is red and marked ``!``; hovering a box shows the step's
operation (its ``title``).
"""

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.4em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; }
th { text-align: left; background: #f4f4f4; } td.num { text-align: right; }
.status { font-weight: 600; padding: 0 6px; border-radius: 3px; }
.status-PASS { background: #d8f3dc; } .status-KNOWN { background: #fff3bf; }
.status-NEW { background: #ffc9c9; } .status-ERROR { background: #ffd8a8; }
.status-FIXED { background: #d0ebff; } .status-NA { background: #eee; }
pre { background: #f8f8f8; padding: 8px; overflow-x: auto; white-space: pre-wrap; }
#filters label { margin-right: 1em; } .hidden { display: none; }
article { border: 1px solid #ddd; border-radius: 4px; padding: 0 1em 1em; margin: 1em 0; }
.timeline { overflow-x: auto; margin: .5em 0; }
.lane { display: flex; align-items: center; height: 24px; }
.lane-name { width: 12em; flex: none; font-size: 12px; white-space: nowrap; overflow: hidden; }
.track { position: relative; height: 20px; flex: none; border-top: 1px dotted #ccc; }
.step { position: absolute; top: 2px; width: 19px; height: 16px; border-radius: 2px;
  background: #74c0fc; font-size: 9px; line-height: 16px; text-align: center; cursor: default; }
.step.kind-callback { background: #ced4da; } .step.kind-fault { background: #fa5252; color: #fff; }
.step.pick { outline: 2px solid #1b1b1b; } .axis { font-size: 10px; color: #666; }
.axis .gap { border-left: 2px dashed #999; padding-left: 2px; color: #1b1b1b; }
.grid td { text-align: center; }
"""

SCRIPT = """
const TIMELINES = JSON.parse(document.getElementById('timeline-data').textContent);
const WIDTH = 22;
function drawTimeline(box) {
  const data = TIMELINES[Number(box.dataset.timeline)];
  const steps = data.steps;
  const head = document.createElement('div');
  head.className = 'timeline-title';
  head.textContent = data.title + ': ' + steps.length + ' steps' + (data.omitted ? ' (' +
    data.omitted + ' more not shown: only the picks other than stock order, the faults and ' +
    'the end, with their neighbours; the step numbers jump at each gap)' : '');
  box.appendChild(head);
  const axis = document.createElement('div');
  axis.className = 'lane axis';
  axis.innerHTML = '<span class="lane-name">step</span>';
  const axisTrack = document.createElement('div');
  axisTrack.className = 'track';
  axisTrack.style.width = (steps.length * WIDTH) + 'px';
  steps.forEach((s, i) => {
    const gap = i > 0 && s[0] !== steps[i - 1][0] + 1;
    if (i % 10 !== 0 && !gap) return;
    const tick = document.createElement('span');
    tick.style.position = 'absolute'; tick.style.left = (i * WIDTH) + 'px';
    if (gap) { tick.className = 'gap'; }
    tick.textContent = (gap ? '\u22ef' : '') + s[0]; axisTrack.appendChild(tick); });
  axis.appendChild(axisTrack);
  box.appendChild(axis);
  for (const [lane, name] of Object.entries(data.lanes)) {
    const row = document.createElement('div');
    row.className = 'lane'; row.dataset.lane = name;
    const label = document.createElement('span');
    label.className = 'lane-name'; label.textContent = name; label.title = name;
    const track = document.createElement('div');
    track.className = 'track'; track.style.width = (steps.length * WIDTH) + 'px';
    steps.forEach((s, i) => {
      const [number, stepLane, time, choice, options, kind, resumed, outcome] = s;
      if (String(stepLane) !== lane) return;
      const cell = document.createElement('div');
      cell.className = 'step kind-' + kind;
      cell.style.left = (i * WIDTH) + 'px';
      const picked = choice !== null && options > 1;
      if (picked) { cell.classList.add('pick'); }
      if (kind === 'fault') { cell.textContent = '!'; }
      else if (picked) { cell.textContent = choice; }
      let what = kind === 'fault' ? 'fault: ' + outcome
        : (resumed ? resumed + ' -> ' : '') + (outcome || '(terse run: no detail)');
      cell.title = 'step ' + number + ', ' + name + ', time ' + time +
        (picked ? ', pick ' + choice + '/' + options : '') + ': ' + what;
      track.appendChild(cell);
    });
    row.appendChild(label); row.appendChild(track); box.appendChild(row);
  }
  box.dataset.drawn = 'true';
}
document.querySelectorAll('.timeline').forEach(drawTimeline);
function applyFilters() {
  const shown = new Set([...document.querySelectorAll('#filters input[type=checkbox]')]
    .filter(c => c.checked).map(c => c.value));
  const text = document.getElementById('filter-text').value.toLowerCase();
  document.querySelectorAll('tr.verdict').forEach(row => {
    const visible = row.dataset.status.split(' ').some(s => shown.has(s)) &&
      row.dataset.name.toLowerCase().includes(text);
    row.classList.toggle('hidden', !visible);
  });
  const severity = document.getElementById('filter-severity');
  document.querySelectorAll('article.finding').forEach(a => {
    a.classList.toggle('hidden', !!severity && severity.value !== '' &&
      a.dataset.severity !== severity.value);
  });
}
document.querySelectorAll('#filters input, #filters select').forEach(
  el => el.addEventListener('input', applyFilters));
applyFilters();
"""
