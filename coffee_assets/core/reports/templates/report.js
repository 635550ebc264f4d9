/* The reports' shared app: data decoding, filters, formatting and chart drawing.
 *
 * The data (script#report-data) holds arrays per slice = (day, store, order type):
 * slice = (day * nStores + store) * nTypes + type. A filter is a day range plus one store or all
 * and one order type or all; compute(ctx) turns it into a plain "figures" object (every number
 * shown), and render(figures) draws it. window.REPORT exposes both for tests and the console.
 */
(function () {
  "use strict";

  const DAY_MS = 86400000;
  const PRESETS = [["7 d", 7], ["30 d", 30], ["90 d", 90], ["1 y", 365], ["All", 0]];
  const DEFAULT_DAYS = 30;
  const COLORS = ["#8b5a2b", "#d08c60", "#6b8f71", "#4f6d8a", "#b5838d", "#c9a227", "#7a6f66"];

  function start(spec) {
    const data = JSON.parse(document.getElementById("report-data").textContent);
    const S = data.store_ids.length;
    const T = data.order_types.length;
    const D = data.n_days;
    const first = Date.parse(data.first_day + "T00:00:00Z");
    const dayIso = (i) => new Date(first + i * DAY_MS).toISOString().slice(0, 10);
    const dayIndex = (iso) => Math.round((Date.parse(iso + "T00:00:00Z") - first) / DAY_MS);

    const defaults = () => ({ from: Math.max(0, D - DEFAULT_DAYS), to: D - 1, store: -1, type: -1 });
    const state = defaults();
    let figures = null;

    /* The filter's context for compute(): which slices are in, and sums over them. */
    function context() {
      const include = new Uint8Array(D * S * T);
      const slices = [];
      for (let d = state.from; d <= state.to; d++) {
        for (let s = 0; s < S; s++) {
          if (state.store >= 0 && s !== state.store) continue;
          for (let t = 0; t < T; t++) {
            if (state.type >= 0 && t !== state.type) continue;
            const i = (d * S + s) * T + t;
            include[i] = 1;
            slices.push(i);
          }
        }
      }
      const dayOf = (i) => Math.floor(i / (S * T));
      const storeOf = (i) => Math.floor(i / T) % S;
      const typeOf = (i) => i % T;
      /* Total of a per-slice array, or of a per-(slice, k) array of width `width`. */
      function total(values, width) {
        if (!width) {
          let sum = 0;
          for (const i of slices) sum += values[i];
          return sum;
        }
        const out = new Array(width).fill(0);
        for (const i of slices) for (let k = 0; k < width; k++) out[k] += values[i * width + k];
        return out;
      }
      /* Sums of a per-slice array grouped by key(slice) into `size` groups. */
      function groupBy(values, key, size) {
        const out = new Array(size).fill(0);
        for (const i of slices) out[key(i)] += values[i];
        return out;
      }
      /* Registered customers active in the filter: their index -> orders in the filter. */
      function activeCustomers() {
        const orders = new Map();
        const ev = data.events;
        for (let j = 0; j < ev.slice.length; j++) {
          if (include[ev.slice[j]]) {
            orders.set(ev.customer[j], (orders.get(ev.customer[j]) || 0) + ev.orders[j]);
          }
        }
        return orders;
      }
      const days = [];
      for (let d = state.from; d <= state.to; d++) days.push(dayIso(d));
      const stores = [];
      for (let s = 0; s < S; s++) if (state.store < 0 || s === state.store) stores.push(s);
      return {
        data, state, slices, include, days, stores, total, groupBy, activeCustomers,
        dayOf: (i) => dayOf(i) - state.from, storeOf, typeOf, dayIso,
      };
    }

    function update() {
      figures = spec.compute(context());
      figures.filter = {
        from: dayIso(state.from), to: dayIso(state.to),
        store: state.store < 0 ? null : data.stores[state.store],
        order_type: state.type < 0 ? null : data.order_types[state.type],
      };
      syncControls();
      spec.render(figures);
      window.REPORT.renders += 1;
    }

    /* ---------------------------------------------------------------- controls */
    const fromInput = document.getElementById("filter-from");
    const toInput = document.getElementById("filter-to");
    const storeSelect = document.getElementById("filter-store");
    const typeSelect = document.getElementById("filter-type");
    const presets = document.getElementById("filter-presets");
    for (const input of [fromInput, toInput]) {
      input.min = dayIso(0);
      input.max = dayIso(D - 1);
    }
    storeSelect.add(new Option("All stores", "-1"));
    data.stores.forEach((name, s) => storeSelect.add(new Option(name, String(s))));
    typeSelect.add(new Option("All order types", "-1"));
    data.order_types.forEach((name, t) => typeSelect.add(new Option(name, String(t))));
    for (const [label, days] of PRESETS) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = label;
      button.dataset.days = String(days);
      button.addEventListener("click", () => {
        state.to = D - 1;
        state.from = days ? Math.max(0, D - days) : 0;
        update();
      });
      presets.appendChild(button);
    }
    const clampDay = (iso, fallback) => {
      const i = dayIndex(iso);
      return Number.isFinite(i) ? Math.min(D - 1, Math.max(0, i)) : fallback;
    };
    fromInput.addEventListener("change", () => {
      state.from = clampDay(fromInput.value, 0);
      if (state.from > state.to) state.to = state.from;
      update();
    });
    toInput.addEventListener("change", () => {
      state.to = clampDay(toInput.value, D - 1);
      if (state.to < state.from) state.from = state.to;
      update();
    });
    storeSelect.addEventListener("change", () => { state.store = Number(storeSelect.value); update(); });
    typeSelect.addEventListener("change", () => { state.type = Number(typeSelect.value); update(); });
    document.getElementById("filter-reset").addEventListener("click", () => {
      Object.assign(state, defaults());
      update();
    });

    function syncControls() {
      fromInput.value = dayIso(state.from);
      toInput.value = dayIso(state.to);
      storeSelect.value = String(state.store);
      typeSelect.value = String(state.type);
      for (const button of presets.children) {
        const days = Number(button.dataset.days);
        const from = days ? Math.max(0, D - days) : 0;
        button.classList.toggle("active", state.to === D - 1 && state.from === from);
      }
      const n = state.to - state.from + 1;
      document.getElementById("period-label").textContent =
        `${n} day${n === 1 ? "" : "s"}: ${dayIso(state.from)} to ${dayIso(state.to)}`;
    }

    window.REPORT = {
      data,
      state,
      renders: 0,
      figures: () => figures,
      /* Back to the default view (the last 30 days, every store and order type). */
      reset() {
        Object.assign(state, defaults());
        update();
        return figures;
      },
      /* Set any of {from, to (ISO dates), store, order_type (names or null)} and redraw. */
      setFilter(filter) {
        if ("from" in filter) state.from = clampDay(filter.from, 0);
        if ("to" in filter) state.to = clampDay(filter.to, D - 1);
        if ("store" in filter) state.store = filter.store === null ? -1 : data.stores.indexOf(filter.store);
        if ("order_type" in filter) {
          state.type = filter.order_type === null ? -1 : data.order_types.indexOf(filter.order_type);
        }
        update();
        return figures;
      },
    };
    update();
  }

  /* ---------------------------------------------------------------- formatting */
  const fmt = {
    money: (cents) => "€" + (cents / 100).toLocaleString("en-US",
      { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    int: (n) => Math.round(n).toLocaleString("en-US"),
    pct: (x) => (x === null ? "n/a" : (x * 100).toFixed(1) + "%"),
    days: (n) => (n === null ? "n/a" : Math.round(n).toLocaleString("en-US") + " d"),
  };
  /* Rounded to whole cents, halves up (amounts are never negative). */
  const ratio = (a, b) => (b ? a / b : null);
  const centsPer = (cents, n) => (n ? Math.round(cents / n) : null);

  function setKpi(id, text, sub) {
    document.getElementById("kpi-" + id).textContent = text;
    if (sub !== undefined) document.getElementById("kpi-" + id + "-sub").textContent = sub;
  }

  const BASE_LAYOUT = {
    margin: { l: 56, r: 16, t: 10, b: 40 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, DejaVu Sans, sans-serif", size: 12, color: "#2b2420" },
    colorway: COLORS,
    legend: { orientation: "h", y: -0.2 },
    xaxis: { automargin: true, gridcolor: "#eee" },
    yaxis: { automargin: true, gridcolor: "#eee", rangemode: "tozero" },
  };
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function merge(base, extra) {
    const out = Object.assign({}, base);
    for (const [k, v] of Object.entries(extra || {})) {
      out[k] = v && typeof v === "object" && !Array.isArray(v) && base[k] ? Object.assign({}, base[k], v) : v;
    }
    return out;
  }

  function plot(id, traces, layout) {
    // Plotly.react keeps the div and redraws in place; the result is SVG.
    window.Plotly.react(id, traces, merge(BASE_LAYOUT, layout), CONFIG);
  }

  /* A day's midnight shifted by `hours`, as plotly reads dates ("2025-01-01 12:00"): a day's
   * bar is centred on its midnight, so its edges are 12 hours either side. */
  const shift = (iso, hours) => new Date(Date.parse(iso + "T00:00:00Z") + hours * 3600000)
    .toISOString().slice(0, 16).replace("T", " ");

  /* A date x axis over the period: half a day of margin each side, a tick per day when short
   * (plotly would otherwise zoom a single day into hours). */
  function dateAxis(days) {
    const axis = { type: "date", range: [shift(days[0], -12), shift(days[days.length - 1], 12)] };
    if (days.length <= 14) Object.assign(axis, { dtick: DAY_MS, tickformat: "%b %-d" });
    return axis;
  }

  window.ReportApp = { start, fmt, ratio, centsPer, setKpi, plot, dateAxis, shift, COLORS };
})();
