/* The Sales report: compute(ctx) -> figures, render(figures). */
(function () {
  "use strict";
  const { fmt, ratio, centsPer, setKpi, plot, dateAxis } = window.ReportApp;

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
    };
  }

  const euros = (values) => values.map((c) => (c === null ? null : c / 100));

  function render(f) {
    const k = f.kpis;
    const days = f.daily.days.length;
    setKpi("revenue", fmt.money(k.revenue), `${fmt.money(centsPer(k.revenue, days))} per day`);
    setKpi("orders", fmt.int(k.orders), `${fmt.int(k.items)} items sold`);
    setKpi("aov", k.aov === null ? "n/a" : fmt.money(k.aov),
      k.orders ? `${(k.items / k.orders).toFixed(2)} items per order` : "");
    setKpi("active_customers", fmt.int(k.active_customers), "registered customers who ordered");
    setKpi("discount", fmt.money(k.discount), `${fmt.pct(ratio(k.discount, k.sub_total))} of list price`);

    plot("chart-daily-revenue", [{
      type: "bar", x: f.daily.days, y: euros(f.daily.revenue), name: "Revenue",
      hovertemplate: "%{x}<br>€%{y:,.2f}<extra></extra>",
    }], { yaxis: { tickprefix: "€" }, xaxis: dateAxis(f.daily.days) });

    plot("chart-daily-orders", Object.entries(f.daily.orders_by_type).map(([name, y]) => ({
      type: "bar", x: f.daily.days, y, name, hovertemplate: "%{x}<br>%{y} orders<extra>" + name + "</extra>",
    })), { barmode: "stack", xaxis: dateAxis(f.daily.days), yaxis: { title: { text: "orders" } } });

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
