//! The Typst "world" a form is compiled in: one template (`form.typ`), one data file
//! (`/data.json`), the embedded fonts, nothing else. No file system, no network, no system fonts.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::PdfError;

/// Noto Sans CJK SC, subset (see `fonts/make-subset.py`), SIL Open Font License 1.1 (`fonts/OFL.txt`).
static FONT_REGULAR: &[u8] = include_bytes!("../fonts/NotoSansSC-Regular-subset.otf");
static FONT_BOLD: &[u8] = include_bytes!("../fonts/NotoSansSC-Bold-subset.otf");

/// The Typst source every form is laid out with.
const TEMPLATE: &str = include_str!("form.typ");

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

pub(crate) static FONTS: LazyLock<Vec<Font>> = LazyLock::new(|| {
    let mut fonts = Vec::new();
    for data in [FONT_REGULAR, FONT_BOLD] {
        fonts.extend(Font::iter(Bytes::new(data)));
    }
    assert_eq!(fonts.len(), 2, "the embedded fonts must parse");
    fonts
});

static BOOK: LazyLock<LazyHash<FontBook>> = LazyLock::new(|| LazyHash::new(FontBook::from_fonts(FONTS.iter())));

fn file_id(path: &str) -> FileId {
    RootedPath::new(VirtualRoot::Project, VirtualPath::new(path).expect("valid virtual path")).intern()
}

static MAIN_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/form.typ"));
static DATA_ID: LazyLock<FileId> = LazyLock::new(|| file_id("/data.json"));

struct FormWorld {
    main: Source,
    data: Bytes,
}

impl World for FormWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &BOOK
    }
    fn main(&self) -> FileId {
        *MAIN_ID
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == *MAIN_ID {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == *DATA_ID {
            Ok(self.data.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }
    fn font(&self, index: usize) -> Option<Font> {
        FONTS.get(index).cloned()
    }
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // Forms print the time they are given (the watermark's), never the clock.
        None
    }
}

fn messages(diags: &[SourceDiagnostic]) -> String {
    diags.iter().map(|d| d.message.to_string()).collect::<Vec<_>>().join("; ")
}

/// Lays out the template with `data` (the form's JSON view) and writes the PDF.
/// Returns the PDF bytes and the page count.
pub(crate) fn compile(data: Vec<u8>, at: chrono::DateTime<chrono::FixedOffset>) -> Result<(Vec<u8>, usize), PdfError> {
    use chrono::{Datelike, Timelike};
    let world = FormWorld { main: Source::new(*MAIN_ID, TEMPLATE.to_string()), data: Bytes::new(data) };
    let warned = typst::compile::<PagedDocument>(&world);
    let result = match warned.output {
        Ok(doc) => Ok(doc),
        Err(errors) => Err(PdfError::Layout(messages(errors.as_slice()))),
    };
    // Typst memoizes across compilations; drop what the last few renders did not use so a
    // long-running server does not grow.
    comemo::evict(10);
    let document = result?;
    if !warned.warnings.is_empty() {
        return Err(PdfError::Layout(format!("template warnings: {}", messages(&warned.warnings))));
    }
    let pages = document.pages().len();
    // The PDF's creation date is the print time (the watermark's), not the clock.
    let timestamp = Datetime::from_ymd_hms(at.year(), at.month() as u8, at.day() as u8, at.hour() as u8, at.minute() as u8, at.second() as u8)
        .and_then(|dt| typst_pdf::Timestamp::new_local(dt, at.offset().local_minus_utc() / 60));
    let options = typst_pdf::PdfOptions { ident: typst::foundations::Smart::Custom("dangan-form".into()), timestamp, ..Default::default() };
    let pdf = match typst_pdf::pdf(&document, &options) {
        Ok(pdf) => pdf,
        Err(errors) => return Err(PdfError::Layout(messages(errors.as_slice()))),
    };
    Ok((pdf, pages))
}
