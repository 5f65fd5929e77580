//! Errors that stop reading a file (as opposed to `RowError`s, which are per row and let the
//! import go on). Every variant has a Chinese and an English message for the user.

/// Reading a file failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("CSV error at record {record}: {message}")]
    Csv { record: u64, message: String },
    #[error("Excel file cannot be read: {0}")]
    Excel(String),
    #[error("the workbook has no worksheet named {0}")]
    NoSuchSheet(String),
    #[error("the workbook has no worksheets")]
    NoSheet,
    #[error("no header row found in the first {0} rows")]
    HeaderNotFound(usize),
    #[error("not a vCard file: {0}")]
    VCard(String),
    #[error("unknown file type (expected .xlsx, .xls, .csv or .vcf)")]
    UnknownFormat,
}

impl ReadError {
    /// The message for the user in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            ReadError::Io(e) => format!("读取文件失败：{e}"),
            ReadError::Csv { record, message } => format!("CSV文件第{record}条记录无法解析：{message}"),
            ReadError::Excel(m) => format!("Excel文件无法读取（文件可能已损坏或不是Excel格式）：{m}"),
            ReadError::NoSuchSheet(s) => format!("工作簿中没有名为“{s}”的工作表"),
            ReadError::NoSheet => "工作簿中没有工作表".into(),
            ReadError::HeaderNotFound(n) => format!("前{n}行中没有找到表头（如“客户名称”“联系人”“手机”等列名）"),
            ReadError::VCard(m) => format!("不是有效的vCard文件：{m}"),
            ReadError::UnknownFormat => "无法识别的文件类型，请使用.xlsx、.xls、.csv或.vcf文件".into(),
        }
    }
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

impl From<calamine::XlsxError> for ReadError {
    fn from(e: calamine::XlsxError) -> Self {
        ReadError::Excel(e.to_string())
    }
}

impl From<calamine::XlsError> for ReadError {
    fn from(e: calamine::XlsError) -> Self {
        ReadError::Excel(e.to_string())
    }
}
