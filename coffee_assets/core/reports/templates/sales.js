/* The Sales report: compute(ctx) -> figures, render(figures). */
(function () {
  "use strict";
  const { fmt, ratio, centsPer, setKpi, plot, dateAxis, shift } = window.ReportApp;

  /* How the daily charts mark what explains a curve: the chain's known events (data.calendar)
   * and the store-days the anomaly judge failed (data.incidents: an outage is in no calendar). */
  const EVENT_KINDS = {
    store_opening: { label: "Store opening", color: "#b5838d", symbol: "star" },
    public_holiday: { label: "Public holiday", color: "#4f6d8a", symbol: "diamond" },
    promotion: { label: "Promotion", color: "#6b8f71", symbol: "triangle-up" },
    price_change: { label: "Price change", color: "#c9a227", symbol: "square" },
  };
  // A type the calendar may learn later still shows, plainly.
  const OTHER_KIND = { label: "Event", color: "#7a6f66", symbol: "circle" };
  const INCIDENT = { label: "Incident", color: "#c0392b", symbol: "x" };
  const kindOf = (type) => EVENT_KINDS[type] || OTHER_KIND;

  function compute(ctx) {
    const { data, days, stores } = ctx;
    const sales = data.sales;
    const C = data.categories.length;
    const M = data.mix_types.length;
    const revenue = ctx.total(sales.revenue);
    const orders = ctx.total(sales.orders);
    const active = ctx.activeCustomers();

    const dailyRevenue = ctx.groupBy(sales.revenue, ctx.dayOf, days.length);
    const ordersByType = {};
    data.order_types.forEach((name, t) => {
      if (ctx.state.type >= 0 && t !== ctx.state.type) return;
      const perDay = new Array(days.length).fill(0);
      for (const i of ctx.slices) if (ctx.typeOf(i) === t) perDay[ctx.dayOf(i)] += sales.orders[i];
      ordersByType[name] = perDay;
    });

    const storeRevenue = ctx.groupBy(sales.revenue, ctx.storeOf, data.stores.length);
    const storeOrders = ctx.groupBy(sales.orders, ctx.storeOf, data.stores.length);

    const categoryRevenue = ctx.total(data.category.revenue, C);
    const categoryItems = ctx.total(data.category.items, C);
    const mixOrders = ctx.total(data.mix.orders, M);
    const mixTotal = mixOrders.reduce((a, b) => a + b, 0);
    const multi = mixOrders.reduce((sum, n, k) => sum + (data.mix_types[k].includes("+") ||
      data.mix_types[k] === "All Categories" ? n : 0), 0);

    // Events and incidents of the selected days; of the selected store and the whole chain
    // when one store is selected (store -1: the whole chain). They are days of a store or of
    // the chain: the order type does not choose them.
    const { from, to, store } = ctx.state;
    const shown = (s) => store < 0 || s < 0 || s === store;
    const calendar = data.calendar
      .filter((e) => e.start <= to && e.end >= from && shown(e.store))
      .map((e) => ({
        type: e.type, name: e.name, start: ctx.dayIso(e.start), end: ctx.dayIso(e.end),
        store: e.store < 0 ? null : data.stores[e.store],
      }));
    const incidents = data.incidents
      .filter((x) => x.day >= from && x.day <= to && shown(x.store))
      .map((x) => ({ day: ctx.dayIso(x.day), store: x.store < 0 ? null : data.stores[x.store], text: x.text }));

    return {
      kpis: {
        revenue,
        orders,
        aov: centsPer(revenue, orders),
        active_customers: active.size,
        discount: ctx.total(sales.discount),
        items: ctx.total(sales.items),
        sub_total: ctx.total(sales.sub_total),
      },
      daily: { days, revenue: dailyRevenue, orders_by_type: ordersByType },
      stores: {
        names: stores.map((s) => data.stores[s]),
        revenue: stores.map((s) => storeRevenue[s]),
        orders: stores.map((s) => storeOrders[s]),
        aov: stores.map((s) => centsPer(storeRevenue[s], storeOrders[s])),
      },
      categories: { names: data.categories.slice(), revenue: categoryRevenue, items: categoryItems },
      mix: {
        names: data.mix_types.slice(),
        orders: mixOrders,
        share: mixOrders.map((n) => ratio(n, mixTotal)),
        multi_category_share: ratio(multi, mixTotal),
      },
      calendar,
      incidents,
    };
  }

  const euros = (values) => values.map((c) => (c === null ? null : c / 100));
  const escape = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const dates = (start, end) => (start === end ? start : `${start} to ${end}`);

  /* The events' marks on a daily chart of the period: a shaded span for an event of several
   * days (the part inside the period), a dotted line on the day of a one-day event, and, on a
   * hidden second y axis (0..1: the chart's height), a marker at the top on its first day whose
   * hover says what it is; a red marker on each day with incidents. */
  function eventMarks(f) {
    const days = f.daily.days;
    const clip = (iso) => (iso < days[0] ? days[0] : iso > days[days.length - 1] ? days[days.length - 1] : iso);
    const shapes = [];
    const points = [];
    for (const e of f.calendar) {
      const kind = kindOf(e.type);
      const start = clip(e.start);
      const end = clip(e.end);
      if (e.start !== e.end) {
        shapes.push({
          type: "rect", xref: "x", yref: "paper", x0: shift(start, -12), x1: shift(end, 12), y0: 0, y1: 1,
          fillcolor: kind.color, opacity: 0.14, line: { width: 0 }, layer: "below",
        });
      } else {
        shapes.push({
          type: "line", xref: "x", yref: "paper", x0: start, x1: start, y0: 0, y1: 1,
          line: { color: kind.color, width: 2, dash: "dot" }, layer: "above",
        });
      }
      points.push({
        trace: "Events", day: start, kind,
        text: `<b>${kind.label}</b>: ${escape(e.name)}<br>${dates(e.start, e.end)} · ` +
          escape(e.store === null ? "all stores" : e.store),
      });
    }
    // One marker a day for the incidents: several stores' incidents of a day share it.
    const incidents = new Map();
    for (const x of f.incidents) incidents.set(x.day, [...(incidents.get(x.day) || []), escape(x.text)]);
    for (const [day, texts] of incidents) {
      points.push({
        trace: "Incidents", day, kind: INCIDENT, text: `<b>${INCIDENT.label}</b><br>${texts.join("<br>")}`,
      });
    }
    // Markers closer than about 16 px (a 1300 px wide chart) go one row lower, so none hides
    // another: an event that starts on a holiday, an outage during a promotion.
    const ROWS = [0.96, 0.88, 0.8];
    const gap = Math.max(1, days.length / 80);
    const placed = [];
    for (const point of points) {
      const at = Date.parse(point.day) / 86400000;
      let row = 0;
      while (row < ROWS.length - 1 && placed.some((p) => p.row === row && Math.abs(p.at - at) < gap)) row++;
      placed.push({ at, row });
      point.y = ROWS[row];
    }
    const traces = [];
    for (const name of ["Events", "Incidents"]) {
      const mine = points.filter((p) => p.trace === name);
      if (!mine.length) continue;
      traces.push({
        type: "scatter", mode: "markers", name, showlegend: false, yaxis: "y2", cliponaxis: false,
        x: mine.map((p) => p.day), y: mine.map((p) => p.y), hovertext: mine.map((p) => p.text),
        hovertemplate: "%{hovertext}<extra></extra>",
        marker: {
          color: mine.map((p) => p.kind.color), symbol: mine.map((p) => p.kind.symbol), size: 11,
          line: { color: "#ffffff", width: 1 },
        },
      });
    }
    return {
      shapes, traces,
      axis: { overlaying: "y", range: [0, 1], visible: false, fixedrange: true },
    };
  }

  /* "Events in this period": the calendar's events and the incidents by their first day (a
   * stable sort: the calendar's order, then the incidents', within a day). */
  function renderEventList(f) {
    const body = document.getElementById("events-list");
    const rows = [
      ...f.calendar.map((e) => [e.start, kindOf(e.type), dates(e.start, e.end), e.name, e.store || "All stores"]),
      ...f.incidents.map((x) => [x.day, INCIDENT, x.day, x.text, x.store || "All stores"]),
    ].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    body.replaceChildren();
    for (const [, kind, when, what, where] of rows) {
      const row = body.insertRow();
      const type = row.insertCell();
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = kind.color;
      type.append(swatch, kind.label);
      for (const text of [when, what, where]) row.insertCell().textContent = text;
    }
    document.getElementById("events-empty").hidden = rows.length > 0;
    document.getElementById("events-table").hidden = rows.length === 0;
  }

  function render(f) {
    const k = f.kpis;
    const days = f.daily.days.length;
    setKpi("revenue", fmt.money(k.revenue), `${fmt.money(centsPer(k.revenue, days))} per day`);
    setKpi("orders", fmt.int(k.orders), `${fmt.int(k.items)} items sold`);
    setKpi("aov", k.aov === null ? "n/a" : fmt.money(k.aov),
      k.orders ? `${(k.items / k.orders).toFixed(2)} items per order` : "");
    setKpi("active_customers", fmt.int(k.active_customers), "registered customers who ordered");
    setKpi("discount", fmt.money(k.discount), `${fmt.pct(ratio(k.discount, k.sub_total))} of list price`);

    const marks = eventMarks(f);
    plot("chart-daily-revenue", [{
      type: "bar", x: f.daily.days, y: euros(f.daily.revenue), name: "Revenue",
      hovertemplate: "%{x}<br>€%{y:,.2f}<extra></extra>",
    }, ...marks.traces], {
      yaxis: { tickprefix: "€" }, xaxis: dateAxis(f.daily.days), yaxis2: marks.axis,
      shapes: marks.shapes, showlegend: false,
    });

    plot("chart-daily-orders", [...Object.entries(f.daily.orders_by_type).map(([name, y]) => ({
      type: "bar", x: f.daily.days, y, name, hovertemplate: "%{x}<br>%{y} orders<extra>" + name + "</extra>",
    })), ...marks.traces], {
      barmode: "stack", xaxis: dateAxis(f.daily.days), yaxis: { title: { text: "orders" } },
      yaxis2: marks.axis, shapes: marks.shapes,
    });
    renderEventList(f);

    const storeBars = (values, money, title) => [{
      type: "bar", x: f.stores.names, y: money ? euros(values) : values, name: title,
      text: values.map((v) => (v === null ? "" : money ? fmt.money(v) : fmt.int(v))), textposition: "inside",
      insidetextanchor: "end", textangle: 0,
      hovertemplate: "%{x}<br>%{text}<extra>" + title + "</extra>", marker: { color: "#8b5a2b" },
    }];
    const storeLayout = (title, money) => ({
      title: { text: title, font: { size: 13 } }, margin: { l: 50, r: 8, t: 30, b: 70 },
      xaxis: { type: "category", tickangle: -30 }, yaxis: { tickprefix: money ? "€" : "" },
      showlegend: false,
    });
    plot("chart-store-revenue", storeBars(f.stores.revenue, true, "Revenue"), storeLayout("Revenue", true));
    plot("chart-store-orders", storeBars(f.stores.orders, false, "Orders"), storeLayout("Orders", false));
    plot("chart-store-aov", storeBars(f.stores.aov, true, "Average order value"),
      storeLayout("Average order value", true));

    plot("chart-category-revenue", [{
      type: "pie", hole: 0.5, labels: f.categories.names, values: euros(f.categories.revenue),
      sort: false, textinfo: "label+percent", hovertemplate: "%{label}<br>€%{value:,.2f}<extra></extra>",
    }], { showlegend: false, margin: { l: 10, r: 10, t: 10, b: 10 } });
    plot("chart-category-items", [{
      type: "bar", x: f.categories.names, y: f.categories.items, text: f.categories.items.map(fmt.int),
      textposition: "auto", hovertemplate: "%{x}<br>%{y} items<extra></extra>",
    }], { xaxis: { type: "category" }, yaxis: { title: { text: "items sold" } }, showlegend: false });

    document.getElementById("mix-hint").textContent =
      `Share of orders by the categories they combine; multi-category orders: ${fmt.pct(f.mix.multi_category_share)}`;
    plot("chart-mix", [{
      type: "bar", orientation: "h", y: f.mix.names, x: f.mix.share.map((s) => (s === null ? 0 : s * 100)),
      text: f.mix.share.map((s, i) => `${fmt.pct(s)} (${fmt.int(f.mix.orders[i])})`), textposition: "auto",
      hovertemplate: "%{y}<br>%{text}<extra></extra>",
    }], {
      xaxis: { type: "linear", ticksuffix: "%", rangemode: "tozero" },
      yaxis: { type: "category", autorange: "reversed", rangemode: "normal" },
      margin: { l: 130 },
    });
  }

  window.ReportApp.start({ compute, render });
})();
