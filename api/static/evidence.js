"use strict";
// Evidence privacy on the review page (dispatch/privacy.py). The snapshot each caller gets is already redacted for
// them: people blurred, and for merchants and inspectors other vehicles too. Staff may open the original; the
// server logs every view of it (GET /evidence/access-log). Evidence the retention period deleted says so.
// review.js calls EvidenceView.show(case, staff) each time it draws a case.

I18N.add({
  "evidence.redacted": { zh: "路人已模糊处理", en: "Passers-by are blurred" },
  "evidence.redacted.merchant": { zh: "路人和其他车辆已模糊处理", en: "Passers-by and other vehicles are blurred" },
  "evidence.original": { zh: "查看原图（将被记录）", en: "View the original (logged)" },
  "evidence.showing": { zh: "原图：此次查看已记录", en: "The original: this view is logged" },
  "evidence.deleted": { zh: "证据已按保存期限在结案 {days} 天后删除", en: "Evidence deleted after {days} days" },
});

const EvidenceView = (() => {
  function part(id, tag, after) {
    let node = document.getElementById(id);
    if (!node) {
      node = document.createElement(tag);
      node.id = id;
      after.after(node);
    }
    return node;
  }

  async function showOriginal(c, img, note, button) {
    const res = await authorizedFetch(`${c.snapshot_url}?original=true`);
    const url = URL.createObjectURL(await res.blob());
    if (img.dataset.caseId !== String(c.id)) return; // another case was opened meanwhile
    img.src = url;
    note.textContent = I18N.t("evidence.showing");
    button.hidden = true;
  }

  function show(c, staff) {
    const img = document.getElementById("detail-snapshot");
    const note = part("evidence-note", "p", img);
    const button = part("evidence-original", "button", note);
    button.type = "button";
    img.dataset.caseId = String(c.id);
    if (c.evidence_deleted_at) {
      note.hidden = false;
      note.textContent = I18N.t("evidence.deleted", { days: c.evidence_deleted_after_days ?? "?" });
      button.hidden = true;
      return;
    }
    note.hidden = !c.snapshot_url;
    note.textContent = I18N.t(staff ? "evidence.redacted" : "evidence.redacted.merchant");
    button.hidden = !staff || !c.snapshot_url;
    button.textContent = I18N.t("evidence.original");
    button.onclick = () => showOriginal(c, img, note, button).catch((e) => {
      if (e.message !== "unauthorized") note.textContent = e.message;
    });
  }

  return { show };
})();
