// Every user-visible string of the command-centre page, Simplified Chinese first.
// Vocabulary labels mirror jiefang/units/vocab.py and jiefang/people/vocab.py
// (a test keeps the two in step).

export const LANGUAGES = {
  zh: { htmlLang: "zh-CN", locale: "zh-CN" },
  en: { htmlLang: "en", locale: "en-GB" },
};
export const DEFAULT_LANGUAGE = "zh";

const STRINGS = {
  zh: {
    "app.title": "广州市最小应急单元指挥平台",
    "app.subtitle": "1分钟自救 · 3分钟互救 · 5分钟增援",
    "nav.skipToMap": "跳到地图",
    "nav.drills": "拉动测试",
    "nav.analytics": "覆盖",
    "nav.reports": "隐患",
    "lang.switch": "English",
    "lang.switchLabel": "Switch to English",
    "auth.heading": "登录指挥平台",
    "auth.intro": "请使用值班账号登录。",
    "auth.username": "用户名",
    "auth.password": "密码",
    "auth.submit": "登录",
    "auth.submitting": "正在登录…",
    "auth.required": "请输入用户名和密码。",
    "auth.expired": "登录已过期，请重新登录。",
    "auth.loggedOut": "您已退出登录。",
    "auth.logout": "退出登录",
    "auth.user": "当前用户：{name}（{role}）",
    "stats.label": "全市概况",
    "stats.districts": "行政区",
    "stats.streets": "镇街",
    "stats.units": "应急单元",
    "stats.members": "在册队员",
    "stats.grids": "综合网格",
    "stats.police_grids": "警务网格",
    "search.label": "查找单元",
    "search.placeholder": "输入单元名称查找",
    "search.noResults": "未找到匹配的单元",
    "map.label": "广州市应急单元地图",
    "map.zoomIn": "放大",
    "map.zoomOut": "缩小",
    "map.loadingUnits": "正在加载应急单元…",
    "map.loadingGrids": "正在加载综合网格…",
    "map.gridHint": "放大至 13 级及以上显示综合网格",
    "map.gridsTooMany": "当前范围内网格过多，请继续放大地图。",
    "map.loadFailed": "加载失败：{message}",
    "map.clusterLabel": "{n} 个单元，按回车放大",
    "legend.title": "单元类别",
    "legend.toggle": "显示或隐藏“{category}”",
    "legend.districts": "区界",
    "legend.grids": "综合网格",
    "live.onDuty": "在岗 {n} 人",
    "live.connected": "实时数据已连接",
    "live.connecting": "正在连接实时数据…",
    "live.reconnecting": "实时连接中断，正在重新连接…",
    "legend.live": "实时图层",
    "legend.members": "在岗队员",
    "legend.fences": "电子围栏",
    "legend.toggleLayer": "显示或隐藏“{layer}”",
    "members.clusterLabel": "{n} 名在岗队员，按回车放大",
    "members.fallbackName": "队员 #{id}",
    "units.staffed": "有人在岗",
    "legend.staffed": "绿圈：有人在岗",
    "members.unit": "所属单元：{unit}",
    "fences.label": "{name} · {kind}",
    "fences.fallbackName": "围栏 #{id}",
    "alerts.title": "实时告警",
    "alerts.empty": "暂无告警",
    "alerts.enter": "{member} 进入敏感区域“{fence}”",
    "alerts.absence": "{member} 离开巡逻区域“{fence}”超时",
    "alerts.locate": "在地图上定位：{text}",
    "panel.label": "单元详情",
    "panel.close": "关闭详情",
    "panel.loading": "正在加载单元详情…",
    "panel.code": "单元编码",
    "panel.address": "地址",
    "panel.district": "所属区",
    "panel.street": "街道",
    "panel.grid": "综合网格",
    "panel.policeGrid": "警务网格",
    "panel.location": "坐标",
    "panel.leader": "负责人",
    "panel.phone": "联系电话",
    "panel.members": "成员人数",
    "panel.teams": "队伍",
    "panel.equipment": "装备",
    "panel.none": "无",
    "panel.noTeams": "暂无队伍",
    "panel.noEquipment": "暂无装备登记",
    "panel.noLeader": "未指定负责人",
    "panel.personCount": "{n} 人",
    "panel.quantity": "{n} 件",
    "error.network": "无法连接服务器，请检查网络后重试。",
    "error.generic": "请求失败（{status}）。",
    // ---- member app (/app) ----
    "member.title": "街坊应急",
    "member.logout": "退出",
    "member.login.heading": "队员登录",
    "member.cancel": "取消",
    "member.net.live": "在线",
    "member.net.connecting": "连接中",
    "member.net.offline": "离线",
    "member.net.waiting": "{n} 项待发送",
    "member.duty.heading": "值班",
    "member.duty.on": "在岗中（{since} 上岗）",
    "member.duty.off": "未在岗",
    "member.duty.shift": "今日班次：{name} {start}–{end}",
    "member.duty.noShift": "今日无排班",
    "member.duty.scan": "扫码上岗",
    "member.duty.checkOut": "下岗",
    "member.duty.checkedIn": "已上岗，位置将在值班期间上报。",
    "member.duty.checkedOut": "已下岗。",
    "member.scan.heading": "扫描岗位二维码",
    "member.scan.pointCamera": "请将摄像头对准岗位二维码。",
    "member.scan.noCamera": "此设备无法扫码，请输入岗位码。",
    "member.scan.manual": "或输入岗位码",
    "member.scan.submit": "上岗",
    "member.scan.empty": "请输入岗位码。",
    "member.position.none": "无法获取手机位置，请打开定位后重试。",
    "member.offline.action": "网络不可用，请稍后重试。",
    "member.alerts.heading": "警情",
    "member.alert.new": "新警情：{type}",
    "member.alert.title": "警情：{type}",
    "member.alert.drillTitle": "【演练】拉动测试：{type}",
    "member.alert.meta": "{tier} · 约 {minutes} 分钟 · {metres} 米",
    "member.alert.answerBy": "请于 {at} 前答复",
    "member.alert.accept": "接受",
    "member.alert.decline": "拒绝",
    "member.alert.arrived": "已到达现场",
    "member.alert.status.alerted": "等待您的答复",
    "member.alert.status.accepted": "已接受，请前往现场",
    "member.alert.status.arrived": "已到达现场",
    "member.alert.status.declined": "已拒绝",
    "member.alert.status.timed_out": "已超时",
    "member.alert.status.closed": "警情已结束",
    "member.tier.self_rescue": "1分钟自救",
    "member.tier.mutual_aid": "3分钟互救",
    "member.tier.reinforcement": "5分钟增援",
    "member.map.incident": "警情位置",
    "member.map.me": "我的位置",
    "member.nav.geo": "导航",
    "member.nav.amap": "高德地图",
    "member.nav.baidu": "百度地图",
    "member.notes.heading": "现场沟通",
    "member.notes.placeholder": "输入消息",
    "member.notes.send": "发送",
    "member.commands.heading": "群指令",
    "member.commands.empty": "暂无指令",
    "member.commands.new": "收到 {sender} 的群指令",
    "member.commands.markRead": "已读",
    "member.commands.reply": "回复",
    "member.commands.replyLabel": "回复内容",
    "member.commands.replied": "已回复：{text}",
    "member.priority.normal": "普通",
    "member.priority.urgent": "紧急",
    "member.priority.flash": "特急",
    "member.report.heading": "上报隐患",
    "member.report.type": "类型",
    "member.report.text": "情况说明",
    "member.report.submit": "上报",
    "member.report.sent": "已上报，事件编号 {id}。",
    "member.hazard.photos": "照片（最多 6 张）",
    "member.hazard.sending": "正在上报…",
    "member.hazard.sent": "隐患已上报（编号 {id}），可在下方查看处理进度。",
    "member.hazard.offline": "当前没有网络，隐患未上报，请联网后再试。",
    "member.hazard.mine": "我的上报",
    "member.hazard.none": "暂无上报",
    "member.hazard.status.new": "待处理",
    "member.hazard.status.assigned": "已指派",
    "member.hazard.status.in_progress": "处理中",
    "member.hazard.status.resolved": "已办结",
    "member.hazard.status.rejected": "未受理",
    "member.sos.button": "一键求助",
    "member.sos.confirmHeading": "发送求助？",
    "member.sos.confirmText": "将以您手机的当前位置上报警情，附近队员和指挥中心会收到。",
    "member.sos.confirm": "确认求助",
    "member.sos.description": "队员一键求助",
    "member.sos.sent": "求助已发出，事件编号 {id}。",
    "member.outbox.heading": "待发送",
    "member.outbox.pending": "待发送",
    "member.outbox.refused": "未能完成",
    "member.outbox.dismiss": "知道了",
    "member.outbox.sending": "正在发送：{what}",
    "member.outbox.queued": "网络不可用，{what}将在恢复后自动发送。",
    "member.outbox.failed": "{what}未能完成：{why}",
    "member.outbox.why.403": "无权执行此操作",
    "member.outbox.why.404": "对象已不存在",
    "member.outbox.why.409": "情况已变化（警情已结束或已答复）",
    "member.outbox.why.422": "内容不符合要求",
    "member.outbox.kind.accept": "接受警情",
    "member.outbox.kind.decline": "拒绝警情",
    "member.outbox.kind.arrived": "到达现场",
    "member.outbox.kind.sos": "一键求助",
    "member.outbox.kind.report": "隐患上报",
    "member.outbox.kind.note": "现场消息",
    "member.outbox.kind.reply": "指令回复",
    "member.outbox.kind.read": "指令已读",
    "member.type.public_order": "治安事件",
    "member.type.fire": "火情",
    "member.type.medical": "医疗急救",
    "member.type.dispute": "矛盾纠纷",
    "member.type.traffic_accident": "交通事故",
    "member.type.violent_crime": "暴力犯罪",
    "member.type.missing_person": "人员走失",
  },
  en: {
    "app.title": "Jiefang command centre",
    "app.subtitle": "1 min self-rescue · 3 min mutual aid · 5 min reinforcement",
    "nav.skipToMap": "Skip to map",
    "nav.drills": "Drills",
    "nav.analytics": "Coverage",
    "nav.reports": "Hazards",
    "lang.switch": "中文",
    "lang.switchLabel": "切换到中文",
    "auth.heading": "Sign in to the command centre",
    "auth.intro": "Sign in with your duty account.",
    "auth.username": "Username",
    "auth.password": "Password",
    "auth.submit": "Sign in",
    "auth.submitting": "Signing in…",
    "auth.required": "Enter your username and password.",
    "auth.expired": "Your session has expired. Please sign in again.",
    "auth.loggedOut": "You have signed out.",
    "auth.logout": "Sign out",
    "auth.user": "Signed in as {name} ({role})",
    "stats.label": "City overview",
    "stats.districts": "Districts",
    "stats.streets": "Streets",
    "stats.units": "Units",
    "stats.members": "Members",
    "stats.grids": "Grids",
    "stats.police_grids": "Police grids",
    "search.label": "Find a unit",
    "search.placeholder": "Type a unit name",
    "search.noResults": "No matching unit",
    "map.label": "Map of emergency units in Guangzhou",
    "map.zoomIn": "Zoom in",
    "map.zoomOut": "Zoom out",
    "map.loadingUnits": "Loading emergency units…",
    "map.loadingGrids": "Loading grids…",
    "map.gridHint": "Zoom to level 13 or closer to see grids",
    "map.gridsTooMany": "Too many grids in view. Zoom in further.",
    "map.loadFailed": "Could not load: {message}",
    "map.clusterLabel": "{n} units, press Enter to zoom in",
    "legend.title": "Unit categories",
    "legend.toggle": "Show or hide “{category}”",
    "legend.districts": "District boundary",
    "legend.grids": "Comprehensive grid",
    "live.onDuty": "On duty: {n}",
    "live.connected": "Live data connected",
    "live.connecting": "Connecting to live data…",
    "live.reconnecting": "Live connection lost, reconnecting…",
    "legend.live": "Live layers",
    "legend.members": "Members on duty",
    "legend.fences": "Electronic fences",
    "legend.toggleLayer": "Show or hide “{layer}”",
    "members.clusterLabel": "{n} members on duty, press Enter to zoom in",
    "members.fallbackName": "Member #{id}",
    "units.staffed": "someone on duty",
    "legend.staffed": "Green ring: someone on duty",
    "members.unit": "Unit: {unit}",
    "fences.label": "{name} · {kind}",
    "fences.fallbackName": "Fence #{id}",
    "alerts.title": "Live alerts",
    "alerts.empty": "No alerts",
    "alerts.enter": "{member} entered sensitive area “{fence}”",
    "alerts.absence": "{member} stayed out of patrol zone “{fence}” too long",
    "alerts.locate": "Show on the map: {text}",
    "panel.label": "Unit details",
    "panel.close": "Close details",
    "panel.loading": "Loading unit details…",
    "panel.code": "Code",
    "panel.address": "Address",
    "panel.district": "District",
    "panel.street": "Street",
    "panel.grid": "Grid",
    "panel.policeGrid": "Police grid",
    "panel.location": "Location",
    "panel.leader": "Leader",
    "panel.phone": "Phone",
    "panel.members": "Members",
    "panel.teams": "Teams",
    "panel.equipment": "Equipment",
    "panel.none": "None",
    "panel.noTeams": "No teams yet",
    "panel.noEquipment": "No equipment registered",
    "panel.noLeader": "No leader assigned",
    "panel.personCount": "{n} members",
    "panel.quantity": "{n}",
    "error.network": "Cannot reach the server. Check the network and try again.",
    "error.generic": "Request failed ({status}).",
    // ---- member app (/app) ----
    "member.title": "Jiefang responder",
    "member.logout": "Sign out",
    "member.login.heading": "Member sign-in",
    "member.cancel": "Cancel",
    "member.net.live": "Online",
    "member.net.connecting": "Connecting",
    "member.net.offline": "Offline",
    "member.net.waiting": "{n} waiting",
    "member.duty.heading": "Duty",
    "member.duty.on": "On duty (since {since})",
    "member.duty.off": "Off duty",
    "member.duty.shift": "Today's shift: {name} {start}–{end}",
    "member.duty.noShift": "No shift today",
    "member.duty.scan": "Scan to go on duty",
    "member.duty.checkOut": "Go off duty",
    "member.duty.checkedIn": "You are on duty; your position is shared while on duty.",
    "member.duty.checkedOut": "You are off duty.",
    "member.scan.heading": "Scan the post's QR code",
    "member.scan.pointCamera": "Point the camera at the post's QR code.",
    "member.scan.noCamera": "This device cannot scan; type the post code instead.",
    "member.scan.manual": "Or type the post code",
    "member.scan.submit": "Go on duty",
    "member.scan.empty": "Type the post code.",
    "member.position.none": "No position from the phone; turn location on and try again.",
    "member.offline.action": "No network; try again shortly.",
    "member.alerts.heading": "Alerts",
    "member.alert.new": "New alert: {type}",
    "member.alert.title": "Alert: {type}",
    "member.alert.drillTitle": "[DRILL] Readiness test: {type}",
    "member.alert.meta": "{tier} · about {minutes} min · {metres} m",
    "member.alert.answerBy": "answer by {at}",
    "member.alert.accept": "Accept",
    "member.alert.decline": "Decline",
    "member.alert.arrived": "I have arrived",
    "member.alert.status.alerted": "Waiting for your answer",
    "member.alert.status.accepted": "Accepted: go to the scene",
    "member.alert.status.arrived": "On scene",
    "member.alert.status.declined": "Declined",
    "member.alert.status.timed_out": "Timed out",
    "member.alert.status.closed": "Incident closed",
    "member.tier.self_rescue": "1-min self-rescue",
    "member.tier.mutual_aid": "3-min mutual aid",
    "member.tier.reinforcement": "5-min reinforcement",
    "member.map.incident": "Incident",
    "member.map.me": "You",
    "member.nav.geo": "Navigate",
    "member.nav.amap": "Amap",
    "member.nav.baidu": "Baidu Maps",
    "member.notes.heading": "Scene chat",
    "member.notes.placeholder": "Message",
    "member.notes.send": "Send",
    "member.commands.heading": "Group commands",
    "member.commands.empty": "No commands",
    "member.commands.new": "Group command from {sender}",
    "member.commands.markRead": "Mark read",
    "member.commands.reply": "Reply",
    "member.commands.replyLabel": "Your reply",
    "member.commands.replied": "Replied: {text}",
    "member.priority.normal": "Normal",
    "member.priority.urgent": "Urgent",
    "member.priority.flash": "Flash",
    "member.report.heading": "Report a hazard",
    "member.report.type": "Type",
    "member.report.text": "What you see",
    "member.report.submit": "Report",
    "member.report.sent": "Reported: incident {id}.",
    "member.hazard.photos": "Photos (up to 6)",
    "member.hazard.sending": "Sending the report…",
    "member.hazard.sent": "Hazard reported (no. {id}); follow it below.",
    "member.hazard.offline": "No network: the report was not sent. Try again when online.",
    "member.hazard.mine": "My reports",
    "member.hazard.none": "No reports yet",
    "member.hazard.status.new": "New",
    "member.hazard.status.assigned": "Assigned",
    "member.hazard.status.in_progress": "Being handled",
    "member.hazard.status.resolved": "Resolved",
    "member.hazard.status.rejected": "Rejected",
    "member.sos.button": "Call for help",
    "member.sos.confirmHeading": "Send SOS?",
    "member.sos.confirmText": "An incident is reported at your phone's position; members nearby and the centre are alerted.",
    "member.sos.confirm": "Send SOS",
    "member.sos.description": "SOS from a member",
    "member.sos.sent": "SOS sent: incident {id}.",
    "member.outbox.heading": "Waiting to send",
    "member.outbox.pending": "pending",
    "member.outbox.refused": "not done",
    "member.outbox.dismiss": "OK",
    "member.outbox.sending": "Sending: {what}",
    "member.outbox.queued": "No network: {what} will be sent when it is back.",
    "member.outbox.failed": "{what} could not be done: {why}",
    "member.outbox.why.403": "you may not do this",
    "member.outbox.why.404": "it no longer exists",
    "member.outbox.why.409": "things have moved on (the incident closed or the alert was answered)",
    "member.outbox.why.422": "the input was refused",
    "member.outbox.kind.accept": "Accept alert",
    "member.outbox.kind.decline": "Decline alert",
    "member.outbox.kind.arrived": "Arrival",
    "member.outbox.kind.sos": "SOS",
    "member.outbox.kind.report": "Hazard report",
    "member.outbox.kind.note": "Scene message",
    "member.outbox.kind.reply": "Command reply",
    "member.outbox.kind.read": "Command read",
    "member.type.public_order": "Public order",
    "member.type.fire": "Fire",
    "member.type.medical": "Medical emergency",
    "member.type.dispute": "Dispute",
    "member.type.traffic_accident": "Traffic accident",
    "member.type.violent_crime": "Violent crime",
    "member.type.missing_person": "Missing person",
  },
};

// Site categories (key -> labels), in legend order.
export const CATEGORIES = {
  business_district: { zh: "商圈", en: "Business district" },
  scenic_spot: { zh: "景区", en: "Scenic spot" },
  key_target: { zh: "重点目标单位", en: "Key target" },
  enterprise: { zh: "企事业单位", en: "Enterprise / institution" },
  crowded_place: { zh: "人员密集场所", en: "Crowded place" },
  community_public: { zh: "社区公共区域", en: "Community public area" },
  urban_village: { zh: "城中村", en: "Urban village" },
  hotel: { zh: "酒店", en: "Hotel" },
  shop: { zh: "商铺", en: "Shop" },
  market: { zh: "市场", en: "Market" },
};

export const EQUIPMENT = {
  fire_extinguisher: { zh: "灭火器", en: "Fire extinguisher" },
  aed: { zh: "AED除颤仪", en: "AED" },
  first_aid_kit: { zh: "急救包", en: "First-aid kit" },
  shield: { zh: "防暴盾牌", en: "Shield" },
  restraint_fork: { zh: "钢叉", en: "Restraint fork" },
  e_bike: { zh: "电动车", en: "E-bike" },
  radio: { zh: "对讲机", en: "Radio" },
};

export const UNIT_STATUSES = {
  active: { zh: "正常运行", en: "Active" },
  suspended: { zh: "暂停", en: "Suspended" },
  disbanded: { zh: "已撤销", en: "Disbanded" },
};

export const ACCOUNT_ROLES = {
  city_admin: { zh: "市级管理员", en: "City administrator" },
  district_operator: { zh: "区级值班员", en: "District operator" },
  unit_leader: { zh: "单元负责人", en: "Unit leader" },
  member: { zh: "队员", en: "Member" },
};

// Electronic fence kinds (jiefang/tracking/fences.py FENCE_KINDS).
export const FENCE_KINDS = {
  patrol_zone: { zh: "巡逻区域", en: "Patrol zone" },
  sensitive_area: { zh: "敏感区域", en: "Sensitive area" },
  incident_perimeter: { zh: "事件警戒范围", en: "Incident perimeter" },
};

export const SKILLS = {
  first_aid: { zh: "急救", en: "First aid" },
  fire: { zh: "消防", en: "Fire fighting" },
  ex_military: { zh: "退役军人", en: "Ex-military" },
  mediation: { zh: "调解", en: "Mediation" },
  driving: { zh: "驾驶", en: "Driving" },
};

const LANGUAGE_KEY = "jiefang.lang";
let current = readStoredLanguage();

function readStoredLanguage() {
  try {
    const stored = localStorage.getItem(LANGUAGE_KEY);
    return stored && stored in LANGUAGES ? stored : DEFAULT_LANGUAGE;
  } catch {
    return DEFAULT_LANGUAGE; // storage disabled: fall back without remembering
  }
}

/** The selected language code ("zh" or "en"). */
export function language() {
  return current;
}

/** Select a language and remember it for the next visit. */
export function setLanguage(code) {
  if (!(code in LANGUAGES)) throw new Error(`unknown language ${code}`);
  current = code;
  try {
    localStorage.setItem(LANGUAGE_KEY, code);
  } catch {
    // Private mode may forbid storage; the switch still works for this page.
  }
}

/** Add the strings of one part of a page (kept beside its code) to the dictionaries. */
export function addStrings(strings) {
  for (const [code, entries] of Object.entries(strings)) Object.assign(STRINGS[code], entries);
}

/** Translate a key, filling {placeholders} from params; unknown keys show as themselves. */
export function t(key, params = {}) {
  const text = STRINGS[current][key] ?? STRINGS[DEFAULT_LANGUAGE][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** Label of a vocabulary entry (category, equipment, status, role); the raw key if unknown. */
export function label(vocabulary, key) {
  const entry = vocabulary[key];
  return entry ? entry[current] : key;
}

/** Localised name of an area ({name, name_en}); the Chinese name when no English one exists. */
export function areaName(area) {
  if (!area) return "";
  return current === "en" && area.name_en ? area.name_en : area.name;
}

// Formatters are costly to build and cluster icons format thousands of numbers: one per language.
const formatters = new Map();

function formatter(kind, make) {
  const key = `${kind}:${current}`;
  if (!formatters.has(key)) formatters.set(key, make(LANGUAGES[current].locale));
  return formatters.get(key);
}

/** Format a number for the selected language. */
export function formatNumber(value) {
  return formatter("number", (locale) => new Intl.NumberFormat(locale)).format(value);
}

/** Format epoch seconds as a wall-clock time (hh:mm:ss) for the selected language. */
export function formatTime(epochSeconds) {
  const make = (locale) => new Intl.DateTimeFormat(locale, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  return formatter("time", make).format(new Date(epochSeconds * 1000));
}

/** Apply translations to static markup: data-i18n (text) and data-i18n-<attr> attributes. */
export function translateDocument(root = document) {
  document.documentElement.lang = LANGUAGES[current].htmlLang;
  document.title = t("app.title");
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const attr of ["placeholder", "aria-label", "title"]) {
    const dataName = `data-i18n-${attr}`;
    for (const element of root.querySelectorAll(`[${dataName}]`)) {
      element.setAttribute(attr, t(element.getAttribute(dataName)));
    }
  }
}
