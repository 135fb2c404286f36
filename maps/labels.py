"""Labels for maps and the report in English or Chinese (a fixed table, DESIGN.md section 5)."""

from __future__ import annotations

LANGS = ("en", "zh")

_LABELS: dict[str, tuple[str, str]] = {
    # layers
    "towns": ("Towns and streets", "乡镇 / 街道"),
    "roads": ("Roads", "道路"),
    "schools": ("Schools", "学校"),
    "student_cells": ("Students per 1 km cell", "学生分布（1 公里网格）"),
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
    "privacy": ("Students appear by pseudonymous id only; homes only as 1 km cells.",
                "学生仅以化名编号出现；住址仅以 1 公里网格显示。"),
    "school": ("school", "学校"),
    "student": ("student", "学生"),
    "tier": ("tier", "安置方式"),
}


def label(key: str, lang: str = "en") -> str:
    """The label of `key` in `lang` ("en" or "zh"); the key itself if it has none."""
    pair = _LABELS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "zh" else pair[0]
