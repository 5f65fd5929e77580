//! The borrowing register screen's forms (登记借出 / 归还), through HTTP as a browser sends them,
//! on both engines: the archivist lends by archive number and checks the loan back in
//! (incomplete, with a note); a bad date or an unknown number is refused in Chinese and nothing
//! is recorded; anyone else sees no forms and cannot post them.

mod common;

use common::ADMIN_PASSWORD;

/// A browser-like client logged in through the login form (session cookie kept).
async fn ui_login(s: &common::TestServer, user: &str) -> reqwest::Client {
    let client = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.post(s.url("/login")).form(&[("username", user), ("password", ADMIN_PASSWORD), ("next", "/loans")]).send().await.unwrap();
    assert!(res.status().is_redirection(), "login as {user}: {}", res.status());
    client
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field on the page") + "name=\"_csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_archivist_lends_and_checks_back_in_from_the_register_screen() {
    for s in common::servers(20).await {
        let e = format!("{:?}", s.engine);
        let archive = s.app.store.list_archives(&dangan_store::ArchiveQuery { limit: 1, ..Default::default() }).await.unwrap().remove(0);
        let borrower = s.app.store.find_login("xiaoshou2").await.unwrap().expect("demo salesperson").user;

        let archivist = ui_login(&s, "dangan1").await;
        let page = archivist.get(s.url("/loans")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"lend-form\""), "[{e}] the archivist sees the lend form");
        let token = csrf(&page);

        // A date nobody can read is refused with a Chinese message; nothing is recorded.
        let bad = archivist
            .post(s.url("/loans"))
            .form(&[("_csrf", token.as_str()), ("archive_no", archive.archive_no.as_str()), ("borrower_id", &borrower.id.to_string()), ("kind", "paper"), ("purpose", "核对合同"), ("due", "下周三")])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 422, "[{e}]");
        assert!(bad.text().await.unwrap().contains("应还日期"), "[{e}] the error names the due date in Chinese");
        let unknown = archivist
            .post(s.url("/loans"))
            .form(&[("_csrf", token.as_str()), ("archive_no", "KH-1900-000001"), ("borrower_id", &borrower.id.to_string()), ("kind", "paper"), ("purpose", "核对合同"), ("due", "2030-01-01")])
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 422, "[{e}] an unknown number");
        assert!(s.app.store.list_loans(&Default::default()).await.unwrap().is_empty(), "[{e}] refused forms record nothing");

        let ok = archivist
            .post(s.url("/loans"))
            .form(&[("_csrf", token.as_str()), ("archive_no", archive.archive_no.as_str()), ("borrower_id", &borrower.id.to_string()), ("kind", "paper"), ("purpose", "核对合同原件"), ("due", "2030年1月2日")])
            .send()
            .await
            .unwrap();
        assert!(ok.status().is_redirection(), "[{e}] lend: {}", ok.status());
        let loans = s.app.store.list_loans(&dangan_store::LoanQuery { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(loans.len(), 1, "[{e}]");
        let loan = &loans[0];
        assert_eq!((loan.archive_id, loan.borrower_id, loan.purpose.as_str()), (archive.id, borrower.id, "核对合同原件"), "[{e}]");
        assert_eq!(loan.due_at.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).format("%Y-%m-%d %H:%M").to_string(), "2030-01-02 23:59", "[{e}] due at the end of the day, China time");

        // Someone else sees no forms and cannot post one.
        let sales = ui_login(&s, "xiaoshou2").await;
        let own = sales.get(s.url("/loans")).send().await.unwrap().text().await.unwrap();
        assert!(!own.contains("id=\"lend-form\"") && !own.contains("return-form"), "[{e}] no register forms for a salesperson");
        let sales_token = csrf(&own);
        let forged = sales
            .post(s.url(&format!("/loans/{}/return", loan.id)))
            .form(&[("_csrf", sales_token.as_str()), ("complete", "1")])
            .send()
            .await
            .unwrap();
        assert_ne!(forged.status().as_u16() / 100, 3, "[{e}] a salesperson's return is refused");
        assert!(s.app.store.get_loan(loan.id).await.unwrap().unwrap().returned_at.is_none(), "[{e}]");

        // Checked back incomplete, with a note: flagged on the screen.
        let page = archivist.get(s.url("/loans?open=true")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("/loans/{}/return", loan.id)), "[{e}] the open loan has a return form");
        let back = archivist.post(s.url(&format!("/loans/{}/return", loan.id))).form(&[("_csrf", token.as_str()), ("note", "缺第3页")]).send().await.unwrap();
        assert!(back.status().is_redirection(), "[{e}] return: {}", back.status());
        let returned = s.app.store.get_loan(loan.id).await.unwrap().unwrap();
        assert_eq!((returned.returned_complete, returned.return_note.as_str()), (Some(false), "缺第3页"), "[{e}]");
        let page = archivist.get(s.url("/loans")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("incomplete") && page.contains("缺第3页"), "[{e}] the incomplete return is flagged");
        let again = archivist.post(s.url(&format!("/loans/{}/return", loan.id))).form(&[("_csrf", token.as_str()), ("complete", "1")]).send().await.unwrap();
        assert_eq!(again.status(), 422, "[{e}] a second return is refused");
    }
}
