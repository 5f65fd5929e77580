//! UI strings in zh-CN (default), zh-TW and English. One table, so a missing translation is a
//! visible gap in one place (a test checks every key has all three).

use std::collections::HashMap;
use std::sync::OnceLock;

pub const LANGS: &[(&str, &str)] = &[("zh-CN", "简体中文"), ("zh-TW", "繁體中文"), ("en", "English")];

pub fn normalize_lang(l: &str) -> &'static str {
    match l {
        "en" | "en-US" | "en-GB" => "en",
        "zh-TW" | "zh-HK" | "zh-Hant" => "zh-TW",
        _ => "zh-CN",
    }
}

/// (key, zh-CN, zh-TW, en)
const STRINGS: &[(&str, &str, &str, &str)] = &[
    ("app.name", "档案 · 客户档案管理系统", "檔案 · 客戶檔案管理系統", "Dangan · Customer Archives"),
    ("app.short", "档案", "檔案", "Dangan"),
    ("menu.archives", "客户档案", "客戶檔案", "Customer archives"),
    ("menu.approvals", "查阅审批", "查閱審批", "Access approvals"),
    ("menu.loans", "借阅登记", "借閱登記", "Borrowing register"),
    ("menu.reminders", "提醒", "提醒", "Reminders"),
    ("menu.import_export", "导入导出", "匯入匯出", "Import / export"),
    ("menu.stats", "统计分析", "統計分析", "Analysis"),
    ("menu.settings", "系统设置", "系統設定", "Settings"),
    ("menu.users", "用户与部门", "使用者與部門", "Users & departments"),
    ("menu.soon", "即将推出", "即將推出", "coming soon"),
    ("top.search_placeholder", "搜索客户名称、档号、手机…", "搜尋客戶名稱、檔號、手機…", "Search name, number, phone…"),
    ("top.search", "搜索", "搜尋", "Search"),
    ("top.logout", "退出", "登出", "Log out"),
    ("login.title", "登录", "登入", "Log in"),
    ("login.username", "用户名", "使用者名稱", "Username"),
    ("login.password", "密码", "密碼", "Password"),
    ("login.submit", "登录", "登入", "Log in"),
    ("login.failed", "用户名或密码错误", "使用者名稱或密碼錯誤", "Wrong username or password"),
    ("login.locked", "登录失败次数过多，账号已锁定至", "登入失敗次數過多，帳號已鎖定至", "Too many failed logins; locked until"),
    ("list.title", "客户档案", "客戶檔案", "Customer archives"),
    ("list.new", "新建档案", "新建檔案", "New archive"),
    ("list.total", "共 {n} 条", "共 {n} 筆", "{n} in total"),
    ("list.empty", "暂无档案，点击新建或导入", "暫無檔案，點擊新建或匯入", "No archives yet: create one or import"),
    ("list.next", "下一页", "下一頁", "Next page"),
    ("list.first", "第一页", "第一頁", "First page"),
    ("list.page_size", "每页", "每頁", "Per page"),
    ("list.filter", "筛选", "篩選", "Filter"),
    ("list.reset", "重置", "重設", "Reset"),
    ("list.all", "全部", "全部", "All"),
    ("list.sort", "排序", "排序", "Sort"),
    ("sort.created_desc", "最新建档", "最新建檔", "Newest"),
    ("sort.created_asc", "最早建档", "最早建檔", "Oldest"),
    ("sort.updated_desc", "最近更新", "最近更新", "Recently updated"),
    ("f.archive_no", "档号", "檔號", "Archive no."),
    ("f.name", "客户名称", "客戶名稱", "Name"),
    ("f.kind", "客户类型", "客戶類型", "Type"),
    ("f.grade", "客户等级", "客戶等級", "Grade"),
    ("f.credit_grade", "信用等级", "信用等級", "Credit grade"),
    ("f.status", "状态", "狀態", "Status"),
    ("f.industry", "行业", "行業", "Industry"),
    ("f.region", "地区", "地區", "Region"),
    ("f.province", "省份", "省份", "Province"),
    ("f.city", "城市", "城市", "City"),
    ("f.district", "区县", "區縣", "District"),
    ("f.owner", "负责人", "負責人", "Owner"),
    ("f.department", "部门", "部門", "Department"),
    ("f.tier", "档案级别", "檔案級別", "Tier"),
    ("f.secrecy", "密级", "密級", "Secrecy"),
    ("f.retention", "保管期限", "保管期限", "Retention"),
    ("f.mobile", "手机", "手機", "Mobile"),
    ("f.landline", "固定电话", "固定電話", "Landline"),
    ("f.email", "电子邮箱", "電子郵件", "Email"),
    ("f.address", "地址", "地址", "Address"),
    ("f.postal_code", "邮政编码", "郵遞區號", "Postal code"),
    ("f.updated_at", "更新时间", "更新時間", "Updated"),
    ("f.created_at", "建档时间", "建檔時間", "Created"),
    ("f.nature", "客户性质", "客戶性質", "Customer nature"),
    ("f.source_channel", "来源渠道", "來源管道", "Source channel"),
    ("f.tags", "标签", "標籤", "Tags"),
    ("f.gender", "性别", "性別", "Gender"),
    ("f.birth_date", "出生日期", "出生日期", "Birth date"),
    ("f.id_type", "证件类型", "證件類型", "ID type"),
    ("f.id_number", "证件号码", "證件號碼", "ID number"),
    ("f.occupation", "职业", "職業", "Occupation"),
    ("f.employer", "工作单位", "工作單位", "Employer"),
    ("f.uscc", "统一社会信用代码", "統一社會信用代碼", "Unified social credit code"),
    ("f.legal_representative", "法定代表人", "法定代表人", "Legal representative"),
    ("f.registered_capital", "注册资本（元）", "註冊資本（元）", "Registered capital (CNY)"),
    ("f.founded_on", "成立日期", "成立日期", "Founded"),
    ("f.organization_form", "组织形式", "組織形式", "Organization form"),
    ("f.employees", "员工人数", "員工人數", "Employees"),
    ("f.annual_sales", "年销售额（元）", "年銷售額（元）", "Annual sales (CNY)"),
    ("f.business_scope", "经营范围", "經營範圍", "Business scope"),
    ("f.credit_limit", "信用额度（元）", "信用額度（元）", "Credit limit (CNY)"),
    ("f.payment_term_days", "账期（天）", "帳期（天）", "Payment term (days)"),
    ("f.discount_percent", "折扣（%）", "折扣（%）", "Discount (%)"),
    ("f.blacklisted", "黑名单", "黑名單", "Blacklisted"),
    ("f.blacklist_reason", "列入黑名单原因", "列入黑名單原因", "Blacklist reason"),
    ("f.assessed_on", "评估日期", "評估日期", "Assessed on"),
    ("f.valid_until", "有效期至", "有效期至", "Valid until"),
    ("f.service_area", "服务区域", "服務區域", "Service area"),
    ("f.sales_ability", "销售能力", "銷售能力", "Sales ability"),
    ("f.development_potential", "发展潜力", "發展潛力", "Development potential"),
    ("f.business_policy", "经营方针", "經營方針", "Business policy"),
    ("f.cooperation_attitude", "与本公司合作态度", "與本公司合作態度", "Attitude to cooperation"),
    ("f.business_status", "业务状况", "業務狀況", "Business status"),
    ("f.notes", "备注", "備註", "Notes"),
    ("f.version", "版本", "版本", "Version"),
    ("f.reason", "修改原因", "修改原因", "Reason for change"),
    ("f.changed_by", "修改人", "修改人", "Changed by"),
    ("f.changed_fields", "变更内容", "變更內容", "Changed"),
    ("f.contact_name", "姓名", "姓名", "Name"),
    ("f.title", "职务", "職務", "Title"),
    ("f.wechat", "微信", "微信", "WeChat"),
    ("f.birthday", "生日", "生日", "Birthday"),
    ("f.preferences", "喜好/备注", "喜好/備註", "Preferences"),
    ("f.is_primary", "主要联系人", "主要聯絡人", "Primary contact"),
    ("f.entry_kind", "记录类型", "記錄類型", "Kind"),
    ("f.occurred_on", "日期", "日期", "Date"),
    ("f.summary", "内容摘要", "內容摘要", "Summary"),
    ("f.product", "产品", "產品", "Product"),
    ("f.quantity", "数量", "數量", "Quantity"),
    ("f.amount", "金额（元）", "金額（元）", "Amount (CNY)"),
    ("f.contract_no", "合同编号", "合約編號", "Contract no."),
    ("f.start_date", "开始日期", "開始日期", "Start date"),
    ("f.end_date", "结束日期", "結束日期", "End date"),
    ("f.complaint_status", "处理状态", "處理狀態", "Handling status"),
    ("f.counterpart", "接洽人", "接洽人", "Met with"),
    ("f.next_action", "下一步", "下一步", "Next action"),
    ("f.correction_reason", "更正原因", "更正原因", "Reason for correction"),
    ("f.file", "文件", "檔案", "File"),
    ("f.size", "大小", "大小", "Size"),
    ("f.uploaded", "上传时间", "上傳時間", "Uploaded"),
    ("sec.basic", "基本信息", "基本資料", "Basic data"),
    ("sec.person", "个人信息", "個人資料", "Person"),
    ("sec.organization", "单位信息", "單位資料", "Organization"),
    ("sec.classification", "分类", "分類", "Classification"),
    ("sec.contacts", "联系人", "聯絡人", "Contacts"),
    ("sec.credit", "信用", "信用", "Credit"),
    ("sec.characteristics", "客户特征与业务状况", "客戶特徵與業務狀況", "Characteristics & business"),
    ("sec.timeline", "往来记录", "往來記錄", "Timeline"),
    ("sec.attachments", "附件", "附件", "Attachments"),
    ("sec.history", "变更历史", "變更歷史", "History"),
    ("sec.protection", "管理与保密", "管理與保密", "Ownership & protection"),
    ("sec.custom", "行业字段", "行業欄位", "Industry fields"),
    ("sec.consultations", "查阅记录", "查閱記錄", "Consultations"),
    ("act.edit", "编辑", "編輯", "Edit"),
    ("act.save", "保存", "儲存", "Save"),
    ("act.cancel", "取消", "取消", "Cancel"),
    ("act.add_contact", "添加联系人", "新增聯絡人", "Add contact"),
    ("act.add_entry", "添加记录", "新增記錄", "Add entry"),
    ("act.correct", "更正", "更正", "Correct"),
    ("act.upload", "上传附件", "上傳附件", "Upload"),
    ("act.download", "下载", "下載", "Download"),
    ("act.back_to_list", "返回列表", "返回列表", "Back to list"),
    ("form.new_title", "新建客户档案", "新建客戶檔案", "New customer archive"),
    ("form.edit_title", "编辑客户档案", "編輯客戶檔案", "Edit customer archive"),
    ("form.required_hint", "带 * 的为必填项", "帶 * 的為必填項", "Fields marked * are required"),
    ("form.date_hint", "如 2023-03-04 或 2023年3月4日", "如 2023-03-04 或 2023年3月4日", "e.g. 2023-03-04 or 2023年3月4日"),
    ("form.has_errors", "请修正下列标红的字段后再保存", "請修正下列標紅的欄位後再儲存", "Please correct the fields marked in red"),
    ("form.conflict", "未保存：该档案已被他人修改（当前版本 {v}）。他人的修改已合并到表单中，您的输入仍保留；两人都改过的字段在下方标出，请核对后重新保存。", "未儲存：該檔案已被他人修改（目前版本 {v}）。他人的修改已合併到表單中，您的輸入仍保留；兩人都改過的欄位在下方標出，請核對後重新儲存。", "Not saved: someone else changed this archive (now version {v}). Their changes are merged into the form and your input is kept; fields you both changed are marked below. Check and save again."),
    ("form.conflict_note", "他人已将此项改为：{v}（保存将以您的输入为准）", "他人已將此項改為：{v}（儲存將以您的輸入為準）", "Someone else changed this to: {v} (saving keeps your input)"),
    ("form.saved", "已保存", "已儲存", "Saved"),
    ("form.yes", "是", "是", "Yes"),
    ("form.no", "否", "否", "No"),
    ("form.none", "（未填）", "（未填）", "(none)"),
    ("view.superseded", "已被更正", "已被更正", "Superseded"),
    ("view.corrects", "更正了记录", "更正了記錄", "Corrects entry"),
    ("view.no_contacts", "暂无联系人", "暫無聯絡人", "No contacts yet"),
    ("view.no_entries", "暂无往来记录", "暫無往來記錄", "No entries yet"),
    ("view.no_attachments", "暂无附件", "暫無附件", "No attachments yet"),
    ("view.version_by", "由 {u} 于 {t} 修改", "由 {u} 於 {t} 修改", "changed by {u} at {t}"),
    ("view.created_version", "建档", "建檔", "created"),
    ("view.attachment_hint", "支持 PDF、JPG、PNG、TIFF、Office 文件，单个不超过 {mb} MB", "支援 PDF、JPG、PNG、TIFF、Office 檔案，單個不超過 {mb} MB", "PDF, JPG, PNG, TIFF or Office files up to {mb} MB"),
    ("access.tab_inbox", "待我审批", "待我審批", "Awaiting my approval"),
    ("access.tab_mine", "我的申请", "我的申請", "My requests"),
    ("access.tab_grants", "我的授权", "我的授權", "My grants"),
    ("access.restricted_title", "受限档案", "受限檔案", "Restricted archive"),
    ("access.restricted_tag", "需审批", "需審批", "Approval needed"),
    ("access.restricted_help", "该档案不在您的查阅范围内，内容已隐藏。请填写查阅申请，经主管经理和总经理审批通过后，可在批准的时限内查阅。", "該檔案不在您的查閱範圍內，內容已隱藏。請填寫查閱申請，經主管經理和總經理審批通過後，可在核准的時限內查閱。", "This archive is outside what you may read, so its content is hidden. File a request: once the responsible manager and the general manager approve it, you may read it for the approved time."),
    ("access.request_form", "申请查阅", "申請查閱", "Request access"),
    ("access.purpose", "查阅用途", "查閱用途", "Purpose"),
    ("access.purpose_placeholder", "如：季度回访前了解合作历史与信用情况", "如：季度回訪前了解合作歷史與信用情況", "e.g. review the history and credit before the quarterly visit"),
    ("access.sections", "查阅范围", "查閱範圍", "Sections"),
    ("access.sections_hint", "不勾选表示全部", "不勾選表示全部", "None ticked means all"),
    ("access.all_sections", "全部", "全部", "All"),
    ("access.actions", "附加权限", "附加權限", "Extra permissions"),
    ("access.actions_hint", "默认仅可查阅，敏感信息打码显示", "預設僅可查閱，敏感資訊遮罩顯示", "By default reading only, with sensitive data masked"),
    ("access.permissions", "权限", "權限", "Permissions"),
    ("access.hours", "时长", "時長", "Duration"),
    ("access.hours_n", "{n} 小时", "{n} 小時", "{n} h"),
    ("access.hours_hint", "超过上限时按上限授权（秘密级档案最长 {n} 小时）", "超過上限時按上限授權（秘密級檔案最長 {n} 小時）", "Capped at the limit ({n} h for secret archives)"),
    ("access.submit", "提交申请", "提交申請", "Submit request"),
    ("access.pending_exists", "您已提交对该档案的查阅申请，正在审批中，请耐心等待。", "您已提交對該檔案的查閱申請，正在審批中，請耐心等候。", "You have already asked to read this archive; the request is being reviewed."),
    ("access.view_request", "查看申请", "查看申請", "View request"),
    ("access.last_rejected", "您上一次的申请已被驳回：{c}", "您上一次的申請已被駁回：{c}", "Your last request was rejected: {c}"),
    ("access.request_no", "申请编号", "申請編號", "Request no."),
    ("access.requester", "申请人", "申請人", "Requester"),
    ("access.current_step", "当前环节", "目前環節", "Current step"),
    ("access.created_at", "申请时间", "申請時間", "Requested"),
    ("access.closed_at", "办结时间", "辦結時間", "Closed"),
    ("access.ops", "操作", "操作", "Actions"),
    ("access.comment", "审批意见", "審批意見", "Comment"),
    ("access.comment_placeholder", "审批意见（驳回时必填）", "審批意見（駁回時必填）", "Comment (required to reject)"),
    ("access.approve", "同意", "同意", "Approve"),
    ("access.reject", "驳回", "駁回", "Reject"),
    ("access.withdraw", "撤回", "撤回", "Withdraw"),
    ("access.withdraw_confirm", "确定撤回对档案 {no} 的查阅申请吗？", "確定撤回對檔案 {no} 的查閱申請嗎？", "Withdraw the request to read archive {no}?"),
    ("access.status.pending", "待审批", "待審批", "Pending"),
    ("access.status.approved", "已批准", "已核准", "Approved"),
    ("access.status.rejected", "已驳回", "已駁回", "Rejected"),
    ("access.status.cancelled", "已撤回", "已撤回", "Withdrawn"),
    ("access.step.current", "审批中", "審批中", "In review"),
    ("access.step.waiting", "等待中", "等待中", "Waiting"),
    ("access.step.approved", "已同意", "已同意", "Approved"),
    ("access.step.rejected", "已驳回", "已駁回", "Rejected"),
    ("access.step.skipped", "未处理", "未處理", "Not reached"),
    ("access.empty_inbox", "暂无待您审批的申请", "暫無待您審批的申請", "Nothing is waiting for your approval"),
    ("access.empty_mine", "暂无查阅申请。打开受限档案时可提交申请", "暫無查閱申請。開啟受限檔案時可提交申請", "No requests yet. You can file one when you open a restricted archive"),
    ("access.empty_grants", "暂无有效授权", "暫無有效授權", "No active grants"),
    ("access.granted_at", "批准时间", "核准時間", "Granted"),
    ("access.expires_at", "到期时间", "到期時間", "Expires"),
    ("access.time_left", "剩余时间", "剩餘時間", "Time left"),
    ("access.left_hm", "剩余 {h}小时{m}分", "剩餘 {h}小時{m}分", "{h} h {m} min left"),
    ("access.left_m", "剩余 {m}分", "剩餘 {m}分", "{m} min left"),
    ("access.request_title", "查阅申请 {n}", "查閱申請 {n}", "Access request {n}"),
    ("access.detail", "申请详情", "申請詳情", "Request details"),
    ("access.chain", "审批流程", "審批流程", "Approval chain"),
    ("access.decide", "审批", "審批", "Decision"),
    ("access.approver", "审批人", "審批人", "Approver"),
    ("access.open_archive", "查阅档案", "查閱檔案", "Open the archive"),
    ("access.action.read", "查阅", "查閱", "Read"),
    ("access.action.read_unmasked", "查看明文", "查看明文", "Read unmasked"),
    ("access.action.print", "打印", "列印", "Print"),
    ("access.action.export", "导出", "匯出", "Export"),
    ("access.action.download_attachment", "下载附件", "下載附件", "Download attachments"),
    ("access.msg.submitted", "申请已提交，等待审批", "申請已提交，等待審批", "Request submitted; waiting for approval"),
    ("access.msg.approved", "已同意该申请", "已同意該申請", "Request approved"),
    ("access.msg.rejected", "已驳回该申请", "已駁回該申請", "Request rejected"),
    ("access.msg.cancelled", "申请已撤回", "申請已撤回", "Request withdrawn"),
    ("access.msg.stale", "该申请已被他人处理或已撤回，页面已刷新", "該申請已被他人處理或已撤回，頁面已重新整理", "Someone else already handled this request, or it was withdrawn; the page is up to date"),
    ("access.err.purpose_required", "请填写查阅用途", "請填寫查閱用途", "Please give the purpose"),
    ("access.err.comment_required", "驳回时请填写审批意见", "駁回時請填寫審批意見", "Please say why when rejecting"),
    ("err.validation", "提交的数据有误", "提交的資料有誤", "The data has errors"),
    ("err.not_found", "未找到", "找不到", "Not found"),
    ("err.conflict", "档案已被他人修改，请刷新后重试", "檔案已被他人修改，請重新整理後再試", "The archive changed since you read it; reload and retry"),
    ("err.unauthenticated", "请先登录", "請先登入", "Please log in"),
    ("err.forbidden", "无权进行此操作", "無權進行此操作", "You may not do this"),
    ("err.needs_approval", "需要审批后才能查阅", "需要審批後才能查閱", "Approval is needed first"),
    ("err.locked", "登录失败次数过多，账号暂时锁定", "登入失敗次數過多，帳號暫時鎖定", "Too many failed logins; account locked for now"),
    ("err.bad_request", "请求有误", "請求有誤", "Bad request"),
    ("err.duplicate", "已存在", "已存在", "Already exists"),
    ("err.too_large", "文件过大", "檔案過大", "File too large"),
    ("err.unsupported_type", "不支持的文件类型", "不支援的檔案類型", "Unsupported file type"),
    ("err.internal", "服务器内部错误", "伺服器內部錯誤", "Internal server error"),
    ("err.page_title", "出错了", "發生錯誤", "Something went wrong"),
];

fn table() -> &'static HashMap<&'static str, [&'static str; 3]> {
    static T: OnceLock<HashMap<&'static str, [&'static str; 3]>> = OnceLock::new();
    T.get_or_init(|| STRINGS.iter().map(|(k, a, b, c)| (*k, [*a, *b, *c])).collect())
}

/// The string for `key` in `lang`; the key itself when missing (visible, never a panic).
pub fn t<'a>(lang: &str, key: &'a str) -> &'a str {
    let i = match lang {
        "en" => 2,
        "zh-TW" => 1,
        _ => 0,
    };
    match table().get(key) {
        Some(v) => v[i],
        None => key,
    }
}

/// Strings for one request's language, for templates: `{{ tr.t("list.title") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: &'static str,
}

impl Tr {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        t(self.lang, key)
    }
    /// `{n}`-style substitution: `tr.f("list.total", "n", "1,234")`.
    pub fn f(&self, key: &str, name: &str, value: &str) -> String {
        t(self.lang, key).replace(&format!("{{{name}}}"), value)
    }
    /// Several `{name}` substitutions at once: `tr.fs("access.left_hm", &[("h", "3"), ("m", "12")])`.
    pub fn fs(&self, key: &str, values: &[(&str, &str)]) -> String {
        values.iter().fold(t(self.lang, key).to_string(), |s, (name, value)| s.replace(&format!("{{{name}}}"), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, a, b, c) in STRINGS {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!a.is_empty() && !b.is_empty() && !c.is_empty(), "missing translation for {k}");
        }
    }
}
