// Building the page from data. Text goes in as text, never as HTML: names come from VR clients.

/**
 * h("td", {class: "num", dataset: {testid: "x"}}, "text", childNode) -> an element.
 * Attributes whose value is null, undefined or false are left out; `on` holds listeners.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (name === "dataset") {
      for (const [key, item] of Object.entries(value)) {
        if (item !== null && item !== undefined) {
          element.dataset[key] = String(item);
        }
      }
    } else if (name === "on") {
      for (const [event, listener] of Object.entries(value)) {
        element.addEventListener(event, listener);
      }
    } else if (name === "class") {
      element.className = value;
    } else if (name === "style") {
      for (const [property, item] of Object.entries(value)) {
        element.style.setProperty(property, item);
      }
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    if (Array.isArray(child)) {
      append(element, child);
    } else if (child instanceof Node) {
      element.appendChild(child);
    } else {
      element.appendChild(document.createTextNode(String(child)));
    }
  }
}

/** A titled panel: <section class="panel"><h2>title</h2>...children</section>. */
export function panel(title, attributes, ...children) {
  return h("section", { class: "panel", ...attributes }, h("h2", {}, title), ...children);
}

/**
 * A table of rows. columns: [{title, value: (row) => text or Node, numeric, testid}].
 * Each row gets data-testid=`${testid}-row`, each cell data-testid=`${testid}-${column.testid}`.
 */
export function table({ testid, columns, rows, empty = "Nothing in this period.", rowAttributes }) {
  if (rows.length === 0) {
    return h("p", { class: "empty", dataset: { testid: `${testid}-empty` } }, empty);
  }
  return h(
    "table",
    { class: "data", dataset: { testid } },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((column) => h("th", { class: column.numeric ? "num" : null }, column.title)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((row, index) => {
        const extra = rowAttributes ? rowAttributes(row, index) : {};
        return h(
          "tr",
          { ...extra, dataset: { ...extra.dataset, testid: `${testid}-row` } },
          columns.map((column) =>
            h(
              "td",
              {
                class: column.numeric ? "num" : null,
                dataset: { testid: column.testid ? `${testid}-${column.testid}` : null },
              },
              column.value(row, index),
            ),
          ),
        );
      }),
    ),
  );
}

/** A KPI card: a label, a value and an optional line below (a change, a hint). */
export function card({ testid, label, value, note, noteClass }) {
  return h(
    "div",
    { class: "card", dataset: { testid } },
    h("div", { class: "card-label" }, label),
    h("div", { class: "card-value", dataset: { testid: `${testid}-value` } }, value),
    note === undefined
      ? null
      : h(
          "div",
          { class: `card-note ${noteClass ?? ""}`, dataset: { testid: `${testid}-change` } },
          note,
        ),
  );
}
