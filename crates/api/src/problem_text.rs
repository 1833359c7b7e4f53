//! The words of every error code, in one place: a Chinese and an English title, and the Chinese
//! detail (the English detail is written where the error is raised).
//!
//! A Chinese detail is found, in this order:
//! 1. the one the error carried itself (`ApiError::with_zh`, or a `ValueError` with `.zh(…)`),
//!    for details built from this request's particulars;
//! 2. a rendering of the English detail listed under its code here: `{name}` parts of the English
//!    pattern are copied into the Chinese one, so numbers, names and allowed actions survive;
//! 3. the code's general Chinese detail, with `{field}` replaced by the field the problem is
//!    about;
//! 4. a general one per status (for codes this table does not know, which a unit test forbids).

use axum::http::StatusCode;

use crate::i18n::Lang;

/// The words of one code.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub code: &'static str,
    pub title_zh: &'static str,
    pub title_en: &'static str,
    /// The Chinese detail when none of `details` matches; `{field}` stands for the field.
    pub detail_zh: &'static str,
    /// Chinese renderings of particular English details: `(English pattern, Chinese)`, where
    /// `{name}` matches any text in the English and is copied into the Chinese.
    pub details: &'static [(&'static str, &'static str)],
}

const fn t(
    code: &'static str,
    title_zh: &'static str,
    title_en: &'static str,
    detail_zh: &'static str,
) -> Text {
    Text {
        code,
        title_zh,
        title_en,
        detail_zh,
        details: &[],
    }
}

const fn td(
    code: &'static str,
    title_zh: &'static str,
    title_en: &'static str,
    detail_zh: &'static str,
    details: &'static [(&'static str, &'static str)],
) -> Text {
    Text {
        code,
        title_zh,
        title_en,
        detail_zh,
        details,
    }
}

/// Every code the API answers with. Sorted by theme; a code appears once.
pub const TEXTS: &[Text] = &[
    // ---- requests the server cannot read
    t(
        "malformed_json",
        "JSON 格式错误",
        "Malformed JSON",
        "请求体不是有效的 JSON，请检查括号、引号和逗号",
    ),
    t(
        "invalid_body",
        "请求内容无效",
        "Invalid request body",
        "请求体的字段缺失、多余或类型不对，请对照接口文档检查",
    ),
    t(
        "unsupported_content_type",
        "不支持的内容类型",
        "Unsupported content type",
        "请求须带 Content-Type: application/json",
    ),
    t(
        "unreadable_body",
        "请求体无法读取",
        "Unreadable request body",
        "无法读取请求体",
    ),
    t(
        "invalid_query",
        "查询参数无效",
        "Invalid query string",
        "查询参数有误，请对照接口文档检查",
    ),
    t(
        "invalid_path",
        "路径参数无效",
        "Invalid path parameter",
        "路径中的参数有误（如编号须为正整数）",
    ),
    t(
        "invalid_multipart",
        "上传内容无效",
        "Invalid multipart upload",
        "上传内容不是有效的 multipart/form-data",
    ),
    t(
        "file_required",
        "缺少文件",
        "File required",
        "请在名为 file 的字段中上传照片",
    ),
    t(
        "invalid_characters",
        "输入含有不允许的控制字符",
        "Input contains control characters",
        "「{field}」含有不允许的控制字符",
    ),
    t(
        "date_out_of_range",
        "日期须在 2000 年至 2100 年之间",
        "Dates must fall in the years 2000–2100",
        "「{field}」的日期须在 2000 年至 2100 年之间",
    ),
    t(
        "payload_too_large",
        "请求体过大",
        "Request body too large",
        "请求体超过了允许的大小，请压缩照片或分批提交",
    ),
    t(
        "unsupported_media_type",
        "不支持的文件类型",
        "Unsupported media type",
        "只接受 JPEG、PNG 或 WebP 格式的照片",
    ),
    t(
        "image_too_large",
        "图片像素过多",
        "Image has too many pixels",
        "图片像素过多，请缩小后重新上传",
    ),
    // ---- values
    t(
        "invalid_value",
        "输入内容无效",
        "Invalid value",
        "「{field}」的值无效",
    ),
    t(
        "invalid_coordinate",
        "坐标无效",
        "Invalid coordinate",
        "「{field}」须为有效的十进制坐标",
    ),
    t(
        "incomplete_coordinate",
        "坐标不完整",
        "Incomplete coordinate",
        "请同时提供 lat 和 lon，或都不提供",
    ),
    t(
        "invalid_cursor",
        "分页游标无效",
        "Invalid cursor",
        "分页游标不是本接口签发的，请从第一页重新开始",
    ),
    td(
        "invalid_limit",
        "每页条数无效",
        "Invalid limit",
        "「limit」超出允许范围",
        &[(
            "limit must be between 1 and {max}",
            "limit 须在 1 到 {max} 之间",
        )],
    ),
    td(
        "invalid_date",
        "日期无效",
        "Invalid date",
        "「{field}」须为 YYYY-MM-DD 格式的日期",
        &[(
            "signed_on must not be in the future",
            "签订日期不能晚于今天",
        )],
    ),
    t(
        "invalid_period",
        "时间段无效",
        "Invalid period",
        "起始时间晚于结束时间",
    ),
    t(
        "period_too_long",
        "时间段过长",
        "Period too long",
        "查询的时间段超过了允许的长度，请缩短",
    ),
    t(
        "invalid_span",
        "结束时间须晚于开始时间",
        "The work ends before it starts",
        "结束时间须晚于开始时间",
    ),
    t(
        "span_too_long",
        "工作时长过长",
        "The work lasts too long",
        "一条工作记录的时长超过了允许的上限",
    ),
    t(
        "span_in_future",
        "工作时间不能在将来",
        "The work lies in the future",
        "工作记录的时间不能晚于现在",
    ),
    t(
        "invalid_format",
        "导出格式无效",
        "Invalid format",
        "不支持该导出格式",
    ),
    t(
        "invalid_group_by",
        "分组方式无效",
        "Invalid grouping",
        "不支持该分组方式",
    ),
    t(
        "invalid_idempotency_key",
        "幂等键无效",
        "Invalid Idempotency-Key",
        "Idempotency-Key 须为 1–100 个可见 ASCII 字符",
    ),
    t(
        "idempotency_key_reused",
        "该幂等键已用于另一请求，请为新的上报换用新键",
        "Idempotency-Key already used for a different request",
        "该 Idempotency-Key 已用于内容不同的另一请求；新的上报请换用新键",
    ),
    t(
        "invalid_if_match",
        "If-Match 无效",
        "Invalid If-Match",
        "If-Match 须为案件的 ETag",
    ),
    t(
        "version_required",
        "缺少版本号",
        "Version required",
        "请提供案件的版本号（或 If-Match），以便发现并发修改",
    ),
    t(
        "weak_password",
        "密码强度不足",
        "Weak password",
        "密码太弱：请至少 10 个字符，且不要与用户名、姓名或手机号相近",
    ),
    td(
        "password_too_long",
        "密码过长",
        "Password too long",
        "密码过长",
        &[(
            "a password has at most {max} characters",
            "密码最多 {max} 个字符",
        )],
    ),
    t(
        "invalid_name",
        "名称无效",
        "Invalid name",
        "名称须至少包含两个字母、数字或汉字",
    ),
    t(
        "invalid_kind",
        "类型无效",
        "Invalid kind",
        "「{field}」不是可选的类型",
    ),
    t(
        "invalid_community",
        "社区编号无效",
        "Invalid community",
        "社区编号须为正整数",
    ),
    td(
        "invalid_batch",
        "批量条数无效",
        "Invalid batch",
        "一次提交的条数超出范围",
        &[(
            "send 1–{max} places per request",
            "每次请提交 1–{max} 个地址",
        )],
    ),
    t(
        "invalid_licence_number",
        "营业执照号无效",
        "Invalid licence number",
        "营业执照号须为 18 位统一社会信用代码",
    ),
    td(
        "invalid_results",
        "检查结果无效",
        "Invalid results",
        "检查结果有误",
        &[
            ("too many results", "检查结果条数过多"),
            (
                "item {item} passed; only a failed item opens a case",
                "检查项 {item} 已合格；只有不合格的项目才能立案",
            ),
        ],
    ),
    td(
        "duplicate_item",
        "检查项重复",
        "Duplicate item",
        "同一项目出现了两次",
        &[("item {item} is given twice", "项目 {item} 出现了两次")],
    ),
    td(
        "duplicate_place",
        "地址重复",
        "Duplicate place",
        "同一批中有两条是同一地址",
        &[(
            "places[{a}] and places[{b}] name the same place",
            "places[{a}] 与 places[{b}] 是同一地址",
        )],
    ),
    t(
        "location_required",
        "缺少位置",
        "Location required",
        "请提供坐标（lat 和 lon），或从地址簿中选择地点",
    ),
    td(
        "address_not_located",
        "无法定位该地址",
        "Address not located",
        "无法定位该地址；请提供坐标（lat 和 lon），或从 GET /api/v1/places 中选择地点",
        &[(
            "{why}; send the point (lat and lon) or choose a place from GET /api/v1/places",
            "无法定位该地址（{why}）；请提供坐标（lat 和 lon），或从 GET /api/v1/places 中选择地点",
        )],
    ),
    t(
        "note_required",
        "需要填写说明",
        "Note required",
        "该操作需要填写 1–5000 字的说明",
    ),
    t(
        "invalid_assignee",
        "处置人无效",
        "Invalid assignee",
        "处置人须为在岗的执法队员或队长",
    ),
    // ---- places, geography and references
    td(
        "outside_city",
        "位置不在本市网格内",
        "Location outside the city",
        "该位置不在本市任何网格内",
        &[
            (
                "({lat}, {lon}) in {crs} is not inside any grid of the city",
                "（{lat}, {lon}）（{crs}）不在本市任何网格内",
            ),
            (
                "places[{i}] is not inside any grid of the city",
                "places[{i}] 不在本市任何网格内",
            ),
        ],
    ),
    t(
        "point_outside_community",
        "位置不在该社区内",
        "Location outside the community",
        "该位置不在所选社区的范围内",
    ),
    t(
        "grid_not_in_community",
        "网格不属于该社区",
        "Grid not in the community",
        "所选网格不属于该社区",
    ),
    td(
        "unknown_category",
        "未知的问题类别",
        "Unknown category",
        "没有这一启用中的问题类别",
        &[("no active category {c}", "没有启用中的问题类别 {c}")],
    ),
    t(
        "unknown_area",
        "未知的区域",
        "Unknown area",
        "所列区域中有不存在的区、街道或社区",
    ),
    t(
        "unknown_district",
        "未知的区",
        "Unknown district",
        "没有这个区",
    ),
    t(
        "unknown_street",
        "未知的街道",
        "Unknown street",
        "没有这个街道",
    ),
    t(
        "unknown_community",
        "未知的社区",
        "Unknown community",
        "没有这个社区",
    ),
    t("unknown_grid", "未知的网格", "Unknown grid", "没有这个网格"),
    t(
        "unknown_place",
        "未知的地点",
        "Unknown place",
        "地址簿中没有这个启用中的地点",
    ),
    td(
        "unknown_case",
        "未知的案件",
        "Unknown case",
        "没有这件案件",
        &[("no other case {n}", "没有另一件案件 {n}")],
    ),
    t(
        "unknown_merchant",
        "未知的商户",
        "Unknown merchant",
        "没有这家商户",
    ),
    t(
        "unknown_officer",
        "未知的队员",
        "Unknown officer",
        "没有这名执法队员",
    ),
    t(
        "unknown_participant",
        "未知的参与人",
        "Unknown participant",
        "参与人中有不存在的账号",
    ),
    t(
        "unknown_pledge",
        "未知的承诺书",
        "Unknown pledge",
        "该商户没有这份承诺书",
    ),
    td(
        "unknown_pledge_item",
        "未知的承诺项目",
        "Unknown pledge item",
        "承诺书中没有这一项目",
        &[(
            "the inspection did not check item {item}",
            "这次检查没有检查项目 {item}",
        )],
    ),
    t(
        "unknown_reference",
        "引用的数据不存在",
        "Unknown reference",
        "请求引用了不存在的数据",
    ),
    t(
        "areas_mismatch",
        "区域层级不一致",
        "Areas mismatch",
        "所列区域须属于同一层级",
    ),
    // ---- limits on how much
    td(
        "too_many_attachments",
        "照片过多",
        "Too many photos",
        "照片数量已达上限",
        &[
            ("a case holds at most {n} photos", "一件案件最多 {n} 张照片"),
            (
                "the inspection holds no more photos",
                "这次检查的照片已达上限",
            ),
        ],
    ),
    td(
        "too_many_photos",
        "照片过多",
        "Too many photos",
        "照片数量已达上限",
        &[(
            "an entry holds at most {n} photos",
            "一条记录最多 {n} 张照片",
        )],
    ),
    t(
        "too_many_links",
        "关联过多",
        "Too many links",
        "一条工作记录关联的案件、商户或地点过多",
    ),
    t(
        "too_many_participants",
        "参与人过多",
        "Too many participants",
        "一条工作记录的参与人过多",
    ),
    t(
        "too_many_cases",
        "案件过多",
        "Too many cases",
        "所选范围内的案件过多，请缩小范围",
    ),
    t(
        "rate_limited",
        "请求过于频繁",
        "Too many requests",
        "尝试过于频繁，请按 Retry-After 所示的秒数后再试",
    ),
    // ---- who you are
    t(
        "unauthenticated",
        "请先登录",
        "Login required",
        "该接口需要登录（Bearer 访问令牌）",
    ),
    td(
        "invalid_token",
        "登录凭证无效，请重新登录",
        "Invalid token; log in again",
        "访问令牌无效，请重新登录",
        &[
            (
                "malformed Authorization header",
                "Authorization 请求头格式错误",
            ),
            (
                "expected: Bearer <token>",
                "Authorization 请求头须为：Bearer <令牌>",
            ),
            (
                "the access token is invalid; log in again",
                "访问令牌无效（签名不符、格式损坏或不是本系统签发），请重新登录",
            ),
            ("the account is gone or disabled", "账号已不存在或已停用"),
            (
                "this session has ended {why}; refresh or log in again",
                "此会话已结束（账号停用、角色或辖区变更，或已在所有设备退出），请刷新令牌或重新登录",
            ),
        ],
    ),
    t(
        "token_expired",
        "登录凭证已过期",
        "Access token expired",
        "访问令牌已过期，请用刷新令牌换取新的访问令牌",
    ),
    t(
        "invalid_refresh_token",
        "刷新令牌无效",
        "Invalid refresh token",
        "刷新令牌无效、已使用或已过期，请重新登录",
    ),
    t(
        "refresh_token_reused",
        "刷新令牌已被使用",
        "Refresh token reused",
        "该刷新令牌已被使用过，为安全起见请重新登录",
    ),
    t(
        "invalid_credentials",
        "用户名或密码错误",
        "Wrong username or password",
        "用户名或密码错误",
    ),
    t(
        "invalid_code",
        "验证码错误或已失效",
        "Wrong or expired verification code",
        "验证码错误或已失效，请重新获取",
    ),
    t(
        "account_locked",
        "账号已临时锁定",
        "Account temporarily locked",
        "登录失败次数过多，账号已临时锁定，请稍后再试",
    ),
    t(
        "account_disabled",
        "账号已停用",
        "Account disabled",
        "该账号已停用",
    ),
    // ---- what you may do
    t(
        "role_not_permitted",
        "当前角色无权执行该操作",
        "Your role may not do this",
        "当前角色无权执行该操作",
    ),
    t(
        "outside_jurisdiction",
        "不在您的辖区内",
        "Outside your jurisdiction",
        "该对象不在您的辖区内",
    ),
    td(
        "not_owner",
        "只能操作本人的记录",
        "Not yours",
        "只能操作本人的记录",
        &[(
            "only the inspecting officer adds photos",
            "只有实施检查的队员可以添加照片",
        )],
    ),
    td(
        "forbidden",
        "无权操作",
        "Forbidden",
        "您无权执行该操作",
        &[
            ("administrators do not read cases", "系统管理员不查看案件"),
            (
                "only bureau staff read the merchant registry",
                "只有城管局工作人员可以查看商户名录",
            ),
            (
                "only staff read stationing records",
                "只有工作人员可以查看派驻记录",
            ),
            (
                "only the officer or their leader may change the portrait",
                "只有队员本人或其队长可以更换照片",
            ),
        ],
    ),
    t(
        "not_assignee",
        "不是本案处置人",
        "Not the assignee",
        "只有案件派遣到的队员可以执行该操作",
    ),
    t(
        "assignee_outside_jurisdiction",
        "处置人不负责该社区",
        "Assignee outside jurisdiction",
        "该队员不负责本案所在的社区",
    ),
    t(
        "assignee_outside_new_area",
        "已派遣的案件不能移出本社区",
        "Assignee outside the new area",
        "案件已派遣给本社区的队员；如需改到其他社区，请先退单再定位",
    ),
    t(
        "case_finished",
        "案件已办结",
        "Case finished",
        "案件已结案或不予立案，位置不能再修改",
    ),
    t(
        "not_author",
        "不是记录人",
        "Not the author",
        "只有记录该条目的队员可以添加照片",
    ),
    t(
        "cannot_modify_self",
        "不能修改自己的账号",
        "Cannot modify own account",
        "管理员不能停用自己的账号或修改自己的角色",
    ),
    t(
        "not_an_officer",
        "不是执法队员",
        "Not an officer",
        "该账号不是在岗的执法队员（没有警号记录）",
    ),
    t(
        "not_a_partner",
        "不是合作单位账号",
        "Not a partner",
        "只有合作单位账号可以加入组织",
    ),
    // ---- what exists
    t("not_found", "未找到", "Not found", "要找的对象不存在"),
    t(
        "route_not_found",
        "接口不存在",
        "No such endpoint",
        "没有这个接口，请检查路径",
    ),
    t(
        "case_not_found",
        "案件不存在",
        "No such case",
        "没有这件案件",
    ),
    t(
        "user_not_found",
        "账号不存在",
        "No such account",
        "没有这个账号",
    ),
    t(
        "officer_not_found",
        "队员不存在",
        "No such officer",
        "没有这名执法队员",
    ),
    t(
        "community_not_found",
        "社区不存在",
        "No such community",
        "没有这个社区",
    ),
    t(
        "organisation_not_found",
        "组织不存在",
        "No such organisation",
        "没有这个组织",
    ),
    t(
        "merchant_not_found",
        "商户不存在",
        "No such merchant",
        "没有这家商户",
    ),
    t(
        "pledge_not_found",
        "承诺书不存在",
        "No such pledge",
        "没有这份承诺书",
    ),
    t(
        "inspection_not_found",
        "检查记录不存在",
        "No such inspection",
        "没有这条检查记录",
    ),
    t(
        "signature_not_found",
        "签名不存在",
        "No signature",
        "尚未上传签名",
    ),
    t(
        "photo_not_found",
        "照片不存在",
        "No such photo",
        "没有这张照片",
    ),
    t(
        "attachment_not_found",
        "附件不存在",
        "No such attachment",
        "没有这个附件",
    ),
    t(
        "work_log_not_found",
        "工作记录不存在",
        "No such work log",
        "没有这条工作记录",
    ),
    t(
        "stationing_not_found",
        "派驻记录不存在",
        "No such stationing",
        "没有这条派驻记录",
    ),
    t(
        "place_not_found",
        "地点不存在",
        "No such place",
        "地址簿中没有这个地点",
    ),
    t(
        "category_not_found",
        "问题类别不存在",
        "No such category",
        "没有这个问题类别",
    ),
    t(
        "notification_not_found",
        "通知不存在",
        "No such notification",
        "没有这条通知",
    ),
    t(
        "api_key_not_found",
        "API 密钥不存在",
        "No such API key",
        "没有这个 API 密钥",
    ),
    // ---- the state of things
    td(
        "illegal_transition",
        "当前状态不允许该操作",
        "Action not allowed in the current status",
        "案件当前的状态不允许该操作",
        &[(
            "cannot {action} a case that is {status}; what you can do now: {allowed}",
            "案件当前状态为 {status}，不能执行 {action}；您现在可以执行：{allowed}",
        )],
    ),
    t(
        "login_throttled",
        "登录失败次数过多，请稍后再试",
        "Too many failed logins; wait before trying again",
        "该来源登录失败次数过多，请按 Retry-After 所示的秒数等待后再试",
    ),
    t(
        "password_change_required",
        "密码已被管理员重置，请先修改密码",
        "Password reset by an administrator; change it first",
        "您的密码已被管理员重置，请先通过 POST /api/v1/me/password 设置新密码",
    ),
    t(
        "wrong_password",
        "当前密码不正确",
        "The current password is wrong",
        "当前密码不正确",
    ),
    t(
        "password_unchanged",
        "新密码不能与当前密码相同",
        "The new password is the current one",
        "新密码不能与当前密码相同",
    ),
    t(
        "session_not_found",
        "会话不存在或已结束",
        "No such session",
        "没有这个会话，或该会话已经结束",
    ),
    t(
        "category_needs_command_centre",
        "该类问题须由指挥中心受理",
        "This category is accepted by the command centre",
        "该类问题须由指挥中心受理派遣，社区驻点队员不能自行接单",
    ),
    t(
        "no_suggested_officer",
        "没有可推荐的处置人员",
        "No suggested officer",
        "该社区今日没有驻点队员可推荐，请在 assignee_id 中指定处置人员",
    ),
    t(
        "signed_link_invalid",
        "打印链接无效",
        "Invalid print link",
        "打印链接无效或已被改动，请重新生成",
    ),
    t(
        "signed_link_expired",
        "打印链接已过期",
        "Print link expired",
        "打印链接已过期，请重新生成",
    ),
    t(
        "not_printable",
        "该地址不可生成打印链接",
        "Not a printable resource",
        "只能为责任书和社区联系卡生成打印链接",
    ),
    td(
        "glyph_missing",
        "字库缺少字符，无法打印",
        "The font lacks a character",
        "联系卡字库缺少部分字符，无法打印；请联系管理员",
        &[(
            "the card's font cannot draw {chars}; it would print as a box. Add the character \
             to the embedded font (crates/api/assets/fonts/make_subset.py) or correct the text",
            "联系卡字库无法显示 {chars}，打印出来会是方框。请把该字加入内置字库\
             （crates/api/assets/fonts/make_subset.py），或更正文字",
        )],
    ),
    t(
        "version_conflict",
        "案件已被他人修改",
        "The case was changed by someone else",
        "案件在您查看之后已被他人修改，请刷新后重试",
    ),
    t(
        "precondition_failed",
        "案件已被他人修改",
        "The case was changed by someone else",
        "If-Match 所指的版本已不是最新，请刷新后重试",
    ),
    t(
        "no_pending_extension",
        "没有待审批的延期申请",
        "No pending extension",
        "没有待审批的延期申请",
    ),
    td(
        "reopen_window_passed",
        "已超过可重新打开的期限",
        "Reopen window passed",
        "已超过可重新打开的期限",
        &[(
            "a case can be reopened within {days} days of closing",
            "案件只能在结案后 {days} 天内重新打开",
        )],
    ),
    t(
        "already_rated",
        "已评价",
        "Already rated",
        "这件案件已经评价过了",
    ),
    t(
        "pledge_not_active",
        "承诺书未生效",
        "Pledge not active",
        "该商户没有生效中的承诺书",
    ),
    td(
        "pledge_not_revocable",
        "承诺书无法撤销",
        "Pledge not revocable",
        "该承诺书已不能撤销",
        &[("the pledge is already {state}", "该承诺书已是 {state} 状态")],
    ),
    td(
        "pledge_overlaps",
        "承诺书有效期重叠",
        "Pledges overlap",
        "该商户已有有效期重叠的承诺书",
        &[(
            "pledge {n} of this merchant is valid from {from} to {to}; revoke it or start after it ends",
            "该商户的承诺书 {n} 有效期为 {from} 至 {to}；请先撤销它，或从其到期之后开始",
        )],
    ),
    td(
        "stationing_overlaps",
        "派驻时间重叠",
        "Stationings overlap",
        "该队员在这段时间已有派驻（一名队员同一时间只派驻一个社区）",
        &[(
            "the officer's stationing {n} overlaps this period; end it first (an officer serves one community at a time)",
            "该队员的派驻记录 {n} 与这段时间重叠；请先结束它（一名队员同一时间只派驻一个社区）",
        )],
    ),
    td(
        "not_dead",
        "通知未失败",
        "Notification not dead",
        "只有发送失败的通知才能重试",
        &[(
            "only a dead notification can be retried; this one is {state}",
            "只有发送失败的通知才能重试；这条通知的状态是 {state}",
        )],
    ),
    // ---- taken
    t(
        "already_exists",
        "已存在",
        "Already exists",
        "「{field}」已被占用",
    ),
    t(
        "conflict",
        "与现有数据冲突",
        "Conflict",
        "该请求与现有数据冲突",
    ),
    t(
        "account_taken",
        "账号信息已被占用",
        "Already taken",
        "「{field}」已被其他账号占用",
    ),
    t(
        "licence_number_taken",
        "营业执照号已登记",
        "Licence number taken",
        "已有商户使用该营业执照号登记",
    ),
    td(
        "category_exists",
        "问题类别已存在",
        "Category exists",
        "该问题类别已存在",
        &[("category {code} exists", "问题类别 {code} 已存在")],
    ),
    // ---- the server and the transport
    t(
        "method_not_allowed",
        "不支持该请求方法",
        "Method not allowed",
        "该接口不支持这种请求方法，允许的方法见 Allow 响应头",
    ),
    t(
        "request_timeout",
        "请求超时",
        "Request timed out",
        "请求处理超时，请稍后重试",
    ),
    t("request_failed", "请求失败", "Request failed", "请求失败"),
    t(
        "database_unavailable",
        "数据库不可用",
        "Database unavailable",
        "数据库暂时无法访问，请稍后重试",
    ),
    t(
        "storage_unavailable",
        "照片存储不可用",
        "Photo storage unavailable",
        "照片存储暂时无法访问，请稍后重试",
    ),
    t(
        "internal_error",
        "服务器内部错误",
        "Internal server error",
        "服务器内部错误；反馈问题时请提供请求编号（request_id）",
    ),
];

/// The words of `code`, if the table has it.
pub fn lookup(code: &str) -> Option<&'static Text> {
    TEXTS.iter().find(|t| t.code == code)
}

/// The title of `code` in `lang`, falling back to one per status.
pub fn title(code: &str, status: StatusCode, lang: Lang) -> &'static str {
    match lookup(code) {
        Some(t) => lang.pick(t.title_zh, t.title_en),
        None => {
            let (zh, en) = fallback(status);
            lang.pick(zh, en)
        }
    }
}

/// The Chinese detail of a problem whose English detail is `detail_en` (steps 2 to 4 of the
/// module's list).
pub fn detail_zh(code: &str, status: StatusCode, detail_en: &str, field: Option<&str>) -> String {
    let Some(text) = lookup(code) else {
        return fallback(status).0.to_owned();
    };
    for (pattern, zh) in text.details {
        if let Some(parts) = matches(pattern, detail_en) {
            return fill(zh, &parts);
        }
    }
    match field {
        Some(f) => text.detail_zh.replace("{field}", f),
        None => text
            .detail_zh
            .replace("「{field}」", "")
            .replace("{field}", ""),
    }
}

fn fallback(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::BAD_REQUEST => ("请求格式错误", "Malformed request"),
        StatusCode::UNAUTHORIZED => ("未登录或凭证无效", "Not authenticated"),
        StatusCode::FORBIDDEN => ("无权操作", "Forbidden"),
        StatusCode::NOT_FOUND => ("未找到", "Not found"),
        StatusCode::METHOD_NOT_ALLOWED => ("不支持该请求方法", "Method not allowed"),
        StatusCode::REQUEST_TIMEOUT => ("请求超时", "Request timed out"),
        StatusCode::CONFLICT => ("与现有数据冲突", "Conflict"),
        StatusCode::PAYLOAD_TOO_LARGE => ("请求体过大", "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("不支持的内容类型", "Unsupported media type"),
        StatusCode::UNPROCESSABLE_ENTITY => ("输入内容无效", "Invalid input"),
        StatusCode::TOO_MANY_REQUESTS => ("请求过于频繁", "Too many requests"),
        StatusCode::SERVICE_UNAVAILABLE => ("服务暂不可用", "Service unavailable"),
        s if s.is_server_error() => ("服务器内部错误", "Internal server error"),
        _ => ("请求失败", "Request failed"),
    }
}

/// Matches `text` against `pattern`, whose `{name}` parts match any text (up to the first place
/// where the next literal part follows); the named parts, or `None` if it does not match.
fn matches<'t>(pattern: &'static str, text: &'t str) -> Option<Vec<(&'static str, &'t str)>> {
    let mut parts = Vec::new();
    let mut rest = text;
    let mut pat = pattern;
    let mut pending: Option<&'static str> = None;
    loop {
        let (literal, after) = match pat.find('{') {
            Some(i) => (&pat[..i], Some(&pat[i..])),
            None => (pat, None),
        };
        match pending.take() {
            None => rest = rest.strip_prefix(literal)?,
            Some(name) => {
                let at = if after.is_none() {
                    // The last literal ends the text.
                    rest.strip_suffix(literal)?.len()
                } else if literal.is_empty() {
                    return None;
                } else {
                    rest.find(literal)?
                };
                parts.push((name, &rest[..at]));
                rest = &rest[at + literal.len()..];
            }
        }
        let Some(after) = after else {
            return rest.is_empty().then_some(parts);
        };
        let close = after.find('}')?;
        pending = Some(&after[1..close]);
        pat = &after[close + 1..];
    }
}

/// Fills the `{name}` parts of `template` from `parts`.
fn fill(template: &str, parts: &[(&str, &str)]) -> String {
    parts
        .iter()
        .fold(template.to_owned(), |out, (name, value)| {
            out.replace(&format!("{{{name}}}"), value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_once_with_chinese_words() {
        let mut seen = std::collections::HashSet::new();
        for t in TEXTS {
            assert!(seen.insert(t.code), "{} is listed twice", t.code);
            for zh in [t.title_zh, t.detail_zh] {
                assert!(
                    zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "{}: {zh:?} is not Chinese",
                    t.code
                );
            }
            for (en, zh) in t.details {
                assert!(
                    matches(en, en).is_some(),
                    "{}: pattern {en:?} does not match itself",
                    t.code
                );
                assert!(!zh.is_empty());
            }
        }
    }

    #[test]
    fn patterns_carry_the_particulars() {
        let zh = detail_zh(
            "illegal_transition",
            StatusCode::CONFLICT,
            "cannot verify a case that is dispatched; what you can do now: sign, return",
            None,
        );
        assert_eq!(
            zh,
            "案件当前状态为 dispatched，不能执行 verify；您现在可以执行：sign, return"
        );
        assert_eq!(
            detail_zh(
                "invalid_value",
                StatusCode::UNPROCESSABLE_ENTITY,
                "whatever",
                Some("rating")
            ),
            "「rating」的值无效"
        );
        assert_eq!(matches("a {x} b", "a  b"), Some(vec![("x", "")]));
        assert_eq!(matches("a {x} b", "a 1 c"), None);
    }
}
