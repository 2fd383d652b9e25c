// Find-a-unit box: an ARIA combobox over the names of the units already on the map.

import { CATEGORIES, label, t } from "./i18n.js";

const MAX_RESULTS = 8;

export class UnitSearch {
  constructor(input, list, onPick) {
    this.input = input;
    this.list = list;
    this.onPick = onPick;
    this.units = [];
    this.matches = [];
    this.active = -1;
    input.addEventListener("input", () => this.update());
    input.addEventListener("keydown", (event) => this.onKey(event));
    input.addEventListener("blur", () => setTimeout(() => this.closeList(), 150));
  }

  setUnits(units) {
    this.units = units;
    this.update();
  }

  reset() {
    this.input.value = "";
    this.closeList();
  }

  update() {
    const query = this.input.value.trim().toLowerCase();
    if (!query) {
      this.closeList();
      return;
    }
    this.matches = [];
    for (const unit of this.units) {
      if (unit.name.toLowerCase().includes(query)) {
        this.matches.push(unit);
        if (this.matches.length === MAX_RESULTS) break;
      }
    }
    this.active = this.matches.length ? 0 : -1;
    this.render();
  }

  render() {
    this.list.replaceChildren();
    if (this.matches.length === 0) {
      const empty = document.createElement("li");
      empty.className = "search-empty";
      empty.setAttribute("role", "option");
      empty.setAttribute("aria-disabled", "true");
      empty.textContent = t("search.noResults");
      this.list.append(empty);
    }
    this.matches.forEach((unit, index) => {
      const option = document.createElement("li");
      option.id = `unit-search-option-${index}`;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", String(index === this.active));
      option.dataset.unitId = String(unit.id);
      const swatch = document.createElement("span");
      swatch.className = `legend-swatch cat-${unit.category}`;
      swatch.setAttribute("aria-hidden", "true");
      const name = document.createElement("span");
      name.className = "search-name";
      name.textContent = unit.name;
      const category = document.createElement("span");
      category.className = "search-category";
      category.textContent = label(CATEGORIES, unit.category);
      option.append(swatch, name, category);
      // mousedown, not click: it lands before the input's blur closes the list.
      option.addEventListener("mousedown", (event) => {
        event.preventDefault();
        this.pick(index);
      });
      this.list.append(option);
    });
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    if (this.active >= 0) {
      this.input.setAttribute("aria-activedescendant", `unit-search-option-${this.active}`);
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  }

  onKey(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!this.matches.length) return;
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.matches.length) % this.matches.length;
      this.render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (this.active >= 0) this.pick(this.active);
    } else if (event.key === "Escape") {
      this.closeList();
    }
  }

  pick(index) {
    const unit = this.matches[index];
    if (!unit) return;
    this.input.value = unit.name;
    this.closeList();
    this.onPick(unit);
  }

  closeList() {
    this.list.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }
}
