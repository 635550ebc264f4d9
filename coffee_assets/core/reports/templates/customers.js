/* The Customers report: compute(ctx) -> figures, render(figures). */
(function () {
  "use strict";
  const { fmt, ratio, centsPer, setKpi, plot, dateAxis } = window.ReportApp;

  // Upper bounds (inclusive, days); the last bucket is open.
  const AGE_BUCKETS = [[30, "0-30 d"], [90, "31-90 d"], [180, "91-180 d"], [365, "181-365 d"], [null, "366+ d"]];
  const RECENCY_BUCKETS = [[7, "0-7 d"], [30, "8-30 d"], [90, "31-90 d"], [180, "91-180 d"], [null, "181+ d"]];
  const REPEAT_BUCKETS = [[1, "1 order"], [2, "2 orders"], [5, "3-5 orders"], [null, "6+ orders"]];
  const bucketOf = (buckets, value) => {
    const k = buckets.findIndex(([upper]) => upper === null || value <= upper);
    return k;
  };

  function compute(ctx) {
    const { data, days } = ctx;
    const c = data.customers;
    const sales = data.sales;
    const active = ctx.activeCustomers(); // customer index -> orders in the selection
    const members = Array.from(active.keys()).sort((a, b) => a - b);
    const n = members.length;
    const sum = (f) => members.reduce((acc, i) => acc + f(i), 0);

    const segments = new Array(data.segments.length).fill(0);
    const ageCount = new Array(AGE_BUCKETS.length).fill(0);
    const ageLtv = new Array(AGE_BUCKETS.length).fill(0);
    const recency = new Array(RECENCY_BUCKETS.length).fill(0);
    const repeat = new Array(REPEAT_BUCKETS.length).fill(0);
    const levels = Array.from(new Set(c.discount)).sort((a, b) => a - b);
    const levelCount = new Array(levels.length).fill(0);
    const levelLtv = new Array(levels.length).fill(0);
    for (const i of members) {
      segments[c.segment[i]] += 1;
      const a = bucketOf(AGE_BUCKETS, c.age[i]);
      ageCount[a] += 1;
      ageLtv[a] += c.ltv[i];
      recency[bucketOf(RECENCY_BUCKETS, c.days_since_last[i])] += 1;
      repeat[bucketOf(REPEAT_BUCKETS, active.get(i))] += 1;
      const l = levels.indexOf(c.discount[i]);
      levelCount[l] += 1;
      levelLtv[l] += c.ltv[i];
    }

    const orders = ctx.total(sales.orders);
    const revenue = ctx.total(sales.revenue);
    const regOrders = ctx.total(sales.reg_orders);
    const regRevenue = ctx.total(sales.reg_revenue);
    const dailyOrders = ctx.groupBy(sales.orders, ctx.dayOf, days.length);
    const dailyReg = ctx.groupBy(sales.reg_orders, ctx.dayOf, days.length);
    const repeaters = members.filter((i) => active.get(i) >= 2).length;
    const lifetimeRepeaters = members.filter((i) => c.orders_all_time[i] >= 2).length;

    return {
      kpis: {
        active_customers: n,
        registered_share: ratio(regOrders, orders),
        avg_ltv: centsPer(sum((i) => c.ltv[i]), n),
        repeat_rate: ratio(repeaters, n),
        lifetime_repeat_rate: ratio(lifetimeRepeaters, n),
        avg_age_days: ratio(sum((i) => c.age[i]), n),
        active_180d_share: ratio(members.filter((i) => c.orders_180d[i] > 0).length, n),
      },
      segments: { names: data.segments.slice(), customers: segments },
      ltv_values: members.map((i) => c.ltv[i]).sort((a, b) => a - b),
      age: {
        names: AGE_BUCKETS.map((b) => b[1]),
        customers: ageCount,
        avg_ltv: ageCount.map((count, k) => centsPer(ageLtv[k], count)),
      },
      discount: {
        levels,
        names: levels.map((l) => l + "%"),
        customers: levelCount,
        avg_ltv: levelCount.map((count, k) => centsPer(levelLtv[k], count)),
      },
      registered: {
        groups: ["Registered", "Anonymous"],
        orders: [regOrders, orders - regOrders],
        revenue: [regRevenue, revenue - regRevenue],
        aov: [centsPer(regRevenue, regOrders), centsPer(revenue - regRevenue, orders - regOrders)],
      },
      registered_share_daily: { days, share: dailyOrders.map((o, d) => ratio(dailyReg[d], o)) },
      repeat: { names: REPEAT_BUCKETS.map((b) => b[1]), customers: repeat },
      recency: { names: RECENCY_BUCKETS.map((b) => b[1]), customers: recency },
    };
  }

  const euros = (values) => values.map((v) => (v === null ? null : v / 100));
  const bars = (names, values, text, extra) => [Object.assign({
    type: "bar", x: names, y: values, text, textposition: "auto", textangle: 0,
    hovertemplate: "%{x}<br>%{text}<extra></extra>",
  }, extra || {})];

  function render(f) {
    const k = f.kpis;
    setKpi("active_customers", fmt.int(k.active_customers), "registered customers who ordered");
    setKpi("registered_share", fmt.pct(k.registered_share),
      `${fmt.int(f.registered.orders[0])} of ${fmt.int(f.registered.orders[0] + f.registered.orders[1])} orders`);
    setKpi("avg_ltv", k.avg_ltv === null ? "n/a" : fmt.money(k.avg_ltv), "lifetime, as of the report's date");
    setKpi("repeat_rate", fmt.pct(k.repeat_rate), `lifetime: ${fmt.pct(k.lifetime_repeat_rate)}`);
    setKpi("avg_age", fmt.days(k.avg_age_days), `active in the last 180 days: ${fmt.pct(k.active_180d_share)}`);

    plot("chart-segments", bars(f.segments.names, f.segments.customers, f.segments.customers.map(fmt.int)),
      { yaxis: { title: { text: "customers" } }, xaxis: { type: "category", tickangle: -20 } });
    plot("chart-ltv", [{
      type: "histogram", x: euros(f.ltv_values), nbinsx: 30, marker: { color: "#d08c60" },
      hovertemplate: "€%{x}<br>%{y} customers<extra></extra>",
    }], {
      xaxis: { type: "linear", title: { text: "LTV" }, tickprefix: "€" },
      yaxis: { title: { text: "customers" } },
      bargap: 0.05,
    });
    plot("chart-age", [
      Object.assign(bars(f.age.names, f.age.customers, f.age.customers.map(fmt.int))[0], { name: "customers" }),
      {
        type: "scatter", mode: "lines+markers", x: f.age.names, y: euros(f.age.avg_ltv), name: "average LTV",
        yaxis: "y2", hovertemplate: "%{x}<br>€%{y:,.2f}<extra>average LTV</extra>",
      },
    ], {
      xaxis: { type: "category" },
      yaxis: { title: { text: "customers" } },
      yaxis2: { title: { text: "average LTV" }, overlaying: "y", side: "right", tickprefix: "€", rangemode: "tozero", showgrid: false },
      margin: { r: 60 },
    });
    plot("chart-discount", [
      Object.assign(bars(f.discount.names, f.discount.customers, f.discount.customers.map(fmt.int))[0], { name: "customers" }),
      {
        type: "scatter", mode: "lines+markers", x: f.discount.names, y: euros(f.discount.avg_ltv), name: "average LTV",
        yaxis: "y2", hovertemplate: "%{x}<br>€%{y:,.2f}<extra>average LTV</extra>",
      },
    ], {
      xaxis: { type: "category", title: { text: "discount level" } },
      yaxis: { title: { text: "customers" } },
      yaxis2: { title: { text: "average LTV" }, overlaying: "y", side: "right", tickprefix: "€", rangemode: "tozero", showgrid: false },
      margin: { r: 60 },
    });

    const small = (title) => ({
      title: { text: title, font: { size: 13 } }, margin: { l: 50, r: 8, t: 30, b: 40 },
      xaxis: { type: "category" }, showlegend: false,
    });
    const reg = f.registered;
    plot("chart-reg-orders", bars(reg.groups, reg.orders, reg.orders.map(fmt.int)), small("Orders"));
    plot("chart-reg-revenue", bars(reg.groups, euros(reg.revenue), reg.revenue.map(fmt.money)), small("Revenue"));
    plot("chart-reg-aov", bars(reg.groups, euros(reg.aov), reg.aov.map((v) => (v === null ? "n/a" : fmt.money(v)))),
      small("Average order value"));
    plot("chart-reg-share", [{
      type: "scatter", mode: f.registered_share_daily.days.length <= 31 ? "lines+markers" : "lines",
      x: f.registered_share_daily.days,
      y: f.registered_share_daily.share.map((s) => (s === null ? null : s * 100)),
      hovertemplate: "%{x}<br>%{y:.1f}%<extra></extra>", line: { color: "#4f6d8a" },
    }], { xaxis: dateAxis(f.registered_share_daily.days), yaxis: { ticksuffix: "%", title: { text: "registered share" } } });

    document.getElementById("repeat-hint").textContent =
      `Active customers by their number of orders in the selection; repeat rate ${fmt.pct(k.repeat_rate)}`;
    plot("chart-repeat", bars(f.repeat.names, f.repeat.customers, f.repeat.customers.map(fmt.int)),
      { xaxis: { type: "category" }, yaxis: { title: { text: "customers" } } });
    document.getElementById("recency-hint").textContent =
      `Active customers by days since their last order (as of the report's date); active in the last 180 days: ${fmt.pct(k.active_180d_share)}`;
    plot("chart-recency", bars(f.recency.names, f.recency.customers, f.recency.customers.map(fmt.int)),
      { xaxis: { type: "category" }, yaxis: { title: { text: "customers" } } });
  }

  window.ReportApp.start({ compute, render });
})();
