/* stclusters interactive map: Leaflet, no tiles, no network. Every text from the data is
   set with textContent, never as markup. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("stclusters-data").textContent);

  var LABELS = {
    rank: "Rank", name: "Cluster", economies: "Economies",
    income_groups: "Income group (World Bank FY2025)", list: "List",
    patents: "Patents (fractional)", articles: "Articles (fractional)",
    patent_share: "Share of world patents", article_share: "Share of world articles",
    score: "Score", rank_in_economy: "Rank in economy", previous_rank: "Previous rank",
    rank_change: "Rank change", growth: "Growth of S&T output", newcomer: "New to the top list",
    top_applicant: "Top applicant", top_applicant_patents: "  its patents",
    top_organisation: "Top scientific organisation",
    top_organisation_articles: "  its articles", population: "Population",
    population_source: "  population source", intensity: "Intensity (score per million)",
    patents_per_million: "Patents per million", articles_per_million: "Articles per million",
    top_field: "Top technology field", top_field_share: "  its share of patents",
    top_subject: "Top subject", top_subject_share: "  its share of articles",
    rank_p05: "Rank, 5th percentile", rank_p95: "Rank, 95th percentile",
    lat: "Latitude", lon: "Longitude"
  };
  var PERCENT = {patent_share: 1, article_share: 1, growth: 1, top_field_share: 1,
                 top_subject_share: 1};

  function fmt(key, v) {
    if (v === null || v === undefined) { return "–"; }
    if (typeof v === "boolean") { return v ? "yes" : "no"; }
    if (typeof v !== "number") { return String(v); }
    if (PERCENT[key]) { return (100 * v).toFixed(key === "growth" ? 1 : 2) + "%"; }
    if (key === "rank_change") { return v > 0 ? "+" + v : String(v); }
    if (key === "intensity" || key === "score") { return v.toPrecision(3); }
    if (key === "population") { return Math.round(v).toLocaleString("en-US"); }
    if (key === "lat" || key === "lon") { return v.toFixed(3); }
    if (Number.isInteger(v)) { return v.toLocaleString("en-US"); }
    return v.toLocaleString("en-US", {maximumFractionDigits: 1});
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  document.getElementById("title").textContent = data.title;
  document.getElementById("source").textContent = data.source;
  if (data.synthetic) { document.getElementById("banner").hidden = false; }

  var map = L.map("map", {worldCopyJump: true, minZoom: 1, maxZoom: 11,
                          zoomSnap: 0.5, attributionControl: false}).setView([30, 20], 2);
  var canvas = L.canvas({padding: 0.5});
  L.geoJSON(data.countries, {interactive: false, style: function () {
    return {color: "#b5b5b5", weight: 0.6, fillColor: "#ececec", fillOpacity: 1};
  }}).addTo(map);
  var noise = L.layerGroup(data.noise.map(function (p) {
    return L.circleMarker(p, {renderer: canvas, radius: 1.2, stroke: false,
                              fillColor: "#9e9e9e", fillOpacity: 0.55, interactive: false});
  })).addTo(map);

  var byRank = {};
  data.clusters.forEach(function (c) { byRank[c.rank] = c; });
  var maxScore = Math.max.apply(null, data.clusters.map(function (c) { return c.score; }));
  var shapes = {};
  L.geoJSON(data.footprints, {style: function (f) {
    var c = byRank[f.properties.rank];
    return {color: "#ffffff", weight: 0.6, fillColor: data.colours[c.band], fillOpacity: 0.7,
            className: "footprint rank-" + c.rank};
  }, onEachFeature: function (f, layer) {
    shapes[f.properties.rank] = layer;
    layer.on("click", function () { select(f.properties.rank, false); });
  }}).addTo(map);

  var markers = {};
  var selected = null;
  data.clusters.slice().reverse().forEach(function (c) {
    var r = c.band < 4 ? 4 + 16 * Math.sqrt(c.score / maxScore) : 3;
    var m = L.circleMarker([c.lat, c.lon], {radius: r, color: "#ffffff", weight: 1,
      fillColor: data.colours[c.band], fillOpacity: 0.9,
      className: "cluster-marker rank-" + c.rank});
    var tip = document.createElement("span");   /* Leaflet sets a string as markup */
    tip.textContent = c.rank + ". " + c.name;
    m.bindTooltip(tip, {direction: "top"});
    m.on("click", function () { select(c.rank, false); });
    m.addTo(map);
    markers[c.rank] = m;
  });

  /* the side panel: band filter, search, list, details */
  var filters = document.getElementById("bands");
  var shown = {};
  data.bands.forEach(function (label, b) {
    shown[b] = true;
    var lab = el("label", "band");
    var box = el("input");
    box.type = "checkbox"; box.checked = true; box.value = String(b);
    box.setAttribute("data-band", String(b));
    box.addEventListener("change", function () { shown[b] = box.checked; refresh(); });
    var swatch = el("span", "swatch");
    swatch.style.background = data.colours[b];
    lab.appendChild(box); lab.appendChild(swatch); lab.appendChild(el("span", "", label));
    filters.appendChild(lab);
  });
  var noiseLabel = el("label", "band");
  var noiseBox = el("input");
  noiseBox.type = "checkbox"; noiseBox.checked = true; noiseBox.id = "noise-toggle";
  noiseBox.addEventListener("change", function () {
    if (noiseBox.checked) { noise.addTo(map); } else { map.removeLayer(noise); }
  });
  noiseLabel.appendChild(noiseBox);
  noiseLabel.appendChild(el("span", "swatch noise"));
  noiseLabel.appendChild(el("span", "", "noise (" + data.noise.length.toLocaleString("en-US") +
                                        " cells)"));
  filters.appendChild(noiseLabel);

  var list = document.getElementById("list");
  var items = {};
  data.clusters.forEach(function (c) {
    var b = el("button", "item");
    b.type = "button";
    b.setAttribute("data-rank", String(c.rank));
    b.appendChild(el("span", "item-rank", String(c.rank)));
    b.appendChild(el("span", "item-name", c.name));
    b.appendChild(el("span", "item-eco", c.economies || ""));
    b.addEventListener("click", function () { select(c.rank, true); });
    list.appendChild(b);
    items[c.rank] = b;
  });

  function fold(s) {
    return String(s).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  var search = document.getElementById("search");
  function matches(c) {
    var q = fold(search.value.trim());
    return !q || fold(c.name).indexOf(q) >= 0 || fold(c.economies || "").indexOf(q) >= 0 ||
      fold(c.top_applicant || "").indexOf(q) >= 0 || fold(c.top_organisation || "").indexOf(q) >= 0;
  }
  function refresh() {
    var count = 0;
    data.clusters.forEach(function (c) {
      var visible = shown[c.band];
      var m = markers[c.rank], s = shapes[c.rank];
      if (visible) { m.addTo(map); if (s) { s.addTo(map); } }
      else { map.removeLayer(m); if (s) { map.removeLayer(s); } }
      var listed = visible && matches(c);
      items[c.rank].hidden = !listed;
      if (listed) { count += 1; }
    });
    document.getElementById("count").textContent = count + " clusters listed";
  }
  search.addEventListener("input", refresh);
  search.addEventListener("keydown", function (e) {
    if (e.key !== "Enter") { return; }
    var first = data.clusters.filter(function (c) { return shown[c.band] && matches(c); })[0];
    if (first) { select(first.rank, true); }
  });

  function select(rank, zoom) {
    var c = byRank[rank];
    if (selected !== null && markers[selected]) {
      markers[selected].setStyle({color: "#ffffff", weight: 1});
      if (items[selected]) { items[selected].classList.remove("active"); }
    }
    selected = rank;
    markers[rank].setStyle({color: "#000000", weight: 2.5});
    markers[rank].bringToFront();
    items[rank].classList.add("active");
    var box = document.getElementById("details");
    box.textContent = "";
    box.appendChild(el("h2", "", c.rank + ". " + c.name));
    var table = el("table");
    Object.keys(LABELS).forEach(function (k) {
      if (!(k in c) || k === "name") { return; }
      var tr = el("tr");
      tr.setAttribute("data-field", k);
      tr.appendChild(el("th", "", LABELS[k]));
      tr.appendChild(el("td", "", fmt(k, c[k])));
      table.appendChild(tr);
    });
    box.appendChild(table);
    box.hidden = false;
    if (zoom) {
      var s = shapes[rank];
      if (s) { map.fitBounds(s.getBounds(), {maxZoom: 9, padding: [30, 30]}); }
      else { map.setView([c.lat, c.lon], 8); }
    }
  }
  refresh();
  window.stclustersSelect = select;
  document.body.setAttribute("data-ready", "true");
}());
