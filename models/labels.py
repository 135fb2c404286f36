"""Labels for maps and the report in English or Chinese (a fixed table, DESIGN.md section 5)."""

from __future__ import annotations

LANGS = ("en", "zh")

_LABELS: dict[str, tuple[str, str]] = {
    # layers
    "towns": ("Towns and streets", "乡镇 / 街道"),
    "roads": ("Roads", "道路"),
    "schools": ("Schools", "学校"),
    "student_cells": ("Students per {grid} cell", "学生分布（{grid}网格）"),
    "enrolment_flows": ("Home to school (LRC)", "就读路线（随班就读）"),
    "special_flows": ("Home to special school", "就读路线（特殊教育学校）"),
    "unplaced_areas": ("Unplaced students", "未安置学生"),
    # school styles
    "regular": ("Regular school", "普通学校"),
    "special": ("Special school", "特殊教育学校"),
    "centre": ("Resource centre", "特殊教育资源中心"),
    "room": ("Has a resource room", "已建资源教室"),
    "required": ("Needs a resource room (>= 5 LRC)", "应建资源教室（随班就读 ≥ 5 人）"),
    "lrc_size": ("Marker size: LRC students", "标记大小：随班就读学生数"),
    # words
    "lrc": ("regular class (LRC)", "随班就读"),
    "home": ("home-delivered", "送教上门"),
    "undecided": ("undecided", "待定"),
    "students": ("students", "学生"),
    "lrc_students": ("LRC students", "随班就读学生"),
    "classes": ("classes", "班级"),
    "resource_room": ("resource room", "资源教室"),
    "resource_teachers": ("resource teachers needed / present", "资源教师 需配 / 现有"),
    "travel_minutes": ("travel (min)", "路程（分钟）"),
    "mean_travel": ("mean travel (min)", "平均路程（分钟）"),
    "yes": ("yes", "有"),
    "no": ("no", "无"),
    "needed": ("needed", "需建"),
    "reason": ("reason", "原因"),
    "grade": ("grade", "年级"),
    "town": ("town", "乡镇"),
    # report
    "report_title": ("LRC plan", "随班就读安置方案"),
    "check_ok": ("Check passed: every hard rule re-verified independently",
                 "校验通过：所有硬性规则均已独立复核"),
    "check_failed": ("CHECK FAILED", "校验未通过"),
    "key_numbers": ("Key numbers", "关键数据"),
    "stages": ("Stages", "各阶段结果"),
    "status": ("status", "状态"),
    "objective": ("objective", "目标值"),
    "bound": ("bound", "下界"),
    "seconds": ("seconds", "用时（秒）"),
    "tiers": ("Students by placement tier", "按安置方式统计"),
    "room_schools": ("Schools reaching the resource-room threshold", "达到资源教室建设标准的学校"),
    "unplaced_list": ("Unplaced students", "未安置学生名单"),
    "travel_hist": ("Travel time of LRC students", "随班就读学生路程分布"),
    "per_class_hist": ("LRC students per class", "每班随班就读学生人数"),
    "map": ("Map", "地图"),
    "generated": ("generated", "生成于"),
    "scenario": ("scenario", "方案"),
    "privacy": ("Students appear by pseudonymous id only; homes only as {grid} cells.",
                "学生仅以化名编号出现；住址仅以{grid}网格显示。"),
    "school": ("school", "学校"),
    "student": ("student", "学生"),
    "tier": ("tier", "安置方式"),
    # placement figures
    "placed_lrc": ("students placed in regular classes (LRC)", "随班就读学生"),
    "placed_special": ("students placed in special schools", "特殊教育学校学生"),
    "placed_home": ("students taught at home", "送教上门学生"),
    "placed_undecided": ("tier undecided (refer to the committee)",
                         "安置方式待定（提交专家委员会）"),
    # routes figures
    "stage_routes": ("routes", "巡回指导与送教上门路线"),
    "visits_required": ("visits required", "应完成访视"),
    "visits_served": ("visits served", "已安排访视"),
    "coverage": ("coverage", "覆盖率"),
    "visits_unserved": ("visits unserved", "未能安排的访视"),
    "teacher_days": ("teacher-days on the road", "教师出行日"),
    "route_travel_minutes": ("travel (min)", "路途时间（分钟）"),
    "longest_teacher_day": ("longest teacher-day", "最长工作日"),
    # timetable figures
    "stage_timetable": ("support timetable", "个别辅导课表"),
    "support_students": ("LRC students entitled to support", "应享个别辅导的随班就读学生"),
    "support_served": ("entitlement met (3+ periods a week)", "已满足每周课时"),
    "support_coverage": ("coverage", "覆盖率"),
    "support_unserved": ("entitlement not met", "未满足每周课时"),
    "support_sessions": ("support sessions a week", "每周个别辅导节数"),
    "support_pinned": ("pinned sessions kept", "保留的固定课时"),
    "support_soft_cost": ("soft penalty", "软约束扣分"),
    "school_solve_seconds": ("solve time per school", "各校求解时间"),
    # static map and report (maps/static.py, maps/report.py)
    "legend": ("Legend", "图例"),
    "lrc_seated": ("LRC students seated", "已安置随班就读学生"),
    "special_seated": ("special-school students seated", "已安置特殊教育学校学生"),
    "unplaced": ("unplaced students", "未安置学生"),
    "kept_seats": ("of which kept their seat", "其中保留原学位"),
    "outside_catchment": ("outside their catchment school", "未在户籍地对应学校就读"),
    "beyond_preferred": ("sharing a class beyond the preferred number",
                         "所在班级超出建议人数"),
    "travel_mean_max": ("mean / max travel (min)", "平均 / 最长路程（分钟）"),
    "without_room": ("of which without a resource room", "其中尚无资源教室"),
    "projection": ("projection", "投影"),
    "no_cjk_font": ("No Chinese font installed: labels shown in English",
                    "未安装中文字体：标签以英文显示"),
    "violations": ("violation(s)", "项违规"),
    "stage": ("stage", "阶段"),
    "engine": ("engine", "求解器"),
    "optimality": ("optimality", "最优性说明"),
    "value": ("value", "数值"),
    "none": ("none", "无"),
    "id": ("id", "编号"),
    "name": ("name", "名称"),
    "stage_placement": ("placement", "安置方式认定"),
    "stage_enrolment": ("enrolment", "入学分配"),
    "status_optimal": ("optimal", "最优"),
    "status_feasible": ("feasible", "可行"),
    "status_infeasible": ("infeasible", "不可行"),
    "status_timed_out": ("timed out", "超时"),
    "status_done": ("done", "完成"),
    "policy_limit": ("limit", "上限"),
    "lrc_in_class": ("LRC students in the class", "班内随班就读学生数"),
    "lrc_regular_classes": ("classes of regular schools", "普通学校班级数"),
    "charts": ("Charts", "统计图"),
    "inset": ("Densest area, enlarged", "密集区域放大图"),
    "min": ("min", "分钟"),
    # routes outputs (maps/routes.py, maps/itinerary.py)
    "routes": ("Teacher routes", "教师巡回路线"),
    "route_stops": ("Visited places", "访视地点"),
    "route_stop_school": ("School visited (itinerant)", "巡回指导学校"),
    "route_stop_home": ("Homes visited, per {grid} cell", "送教上门家庭（{grid}网格）"),
    "home_stop": ("home", "送教家庭"),
    "home_stops": ("homes", "家庭数"),
    "grid_cell": ("grid cell {where} ({grid})", "网格 {where}（{grid}）"),
    "week_day": ("W{week} {day}", "第{week}周 {day}"),
    "teacher": ("teacher", "教师"),
    "teachers": ("teachers", "教师"),
    "week": ("week", "周"),
    "day": ("day", "日期"),
    "days": ("days", "天数"),
    "stops": ("stops", "站点"),
    "visit": ("visit", "访视"),
    "visits": ("visits", "访视次数"),
    "minutes": ("minutes", "分钟"),
    "visit_minutes": ("visit minutes", "访视时长（分钟）"),
    "working_minutes": ("working minutes", "工作时长（分钟）"),
    "working_time": ("working time", "工作时长"),
    "seq": ("#", "序号"),
    "place": ("place", "地点"),
    "kind": ("kind", "类型"),
    "arrival": ("arrival", "到达"),
    "start": ("start", "开始"),
    "end": ("end", "结束"),
    "lunch": ("lunch", "午餐"),
    "stop_base": ("base", "驻地"),
    "stop_itinerant": ("itinerant visit", "巡回指导"),
    "stop_home": ("home visit", "送教上门"),
    "stop_lunch": ("lunch", "午餐"),
    "stop_travel": ("travel", "路途"),
    "route_week": ("Week of the itinerant and home-delivery teachers",
                   "巡回指导与送教上门教师周安排"),
    "gantt_hours": ("each day column: {start}–{end}", "每日一栏：{start}–{end}"),
    "route_days": ("Teacher-day routes", "教师每日路线"),
    "route_totals": ("Teachers' weekly totals", "教师每周合计"),
    "unserved_visits": ("Unserved visits", "未能安排的访视"),
    "itinerary": ("Itinerary of {teacher}", "{teacher} 的日程"),
    "travel_from": ("travel from the previous stop", "自上一站路程"),
    "duration": ("duration", "时长"),
    "hours_minutes": ("{h} h {m:02d} min", "{h} 小时 {m:02d} 分钟"),
}


def label(key: str, lang: str = "en", **values: object) -> str:
    """The label of `key` in `lang` ("en" or "zh"), its {placeholders} filled from values.

    The key itself if it has no label. A label with a placeholder needs its value (a
    KeyError otherwise): the privacy grid's size must never be guessed.
    """
    pair = _LABELS.get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "zh" else pair[0]
    return text.format(**values) if "{" in text else text


def grid_text(metres: float, lang: str = "en") -> str:
    """The privacy grid's cell size in words: "1 km", "500 m" (zh: "1 公里", "500 米")."""
    km = metres >= 1000 and metres % 100 == 0
    value = f"{metres / 1000:g}" if km else f"{metres:g}"
    unit = ("公里" if km else "米") if lang == "zh" else ("km" if km else "m")
    return f"{value} {unit}"
