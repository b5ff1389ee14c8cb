//! Images and files in S3 (moto behind the strict layer): uploads by presigned `PUT`,
//! attached by id to products and categories, images served by URL to anyone, a
//! product's file to the customer who paid only, everything deleted with its product.

use super::commerce::{page_text, pay, product, stack};
use harness::{TestStack, expect, status_and_json};
use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A PNG's signature and a few bytes: what the image check reads.
fn png(size: usize) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.resize(size, 7);
    bytes
}

fn zip(size: usize) -> Vec<u8> {
    let mut bytes = b"PK\x03\x04".to_vec();
    bytes.resize(size, 1);
    bytes
}

/// `POST /uploads` → the upload (201).
async fn upload_ticket(stack: &TestStack, key: &str, body: Value) -> Value {
    expect(stack.post("/uploads", key, body).await, 201).await
}

/// PUTs `bytes` where `ticket` says, with its headers → the status S3 answered.
async fn put(stack: &TestStack, ticket: &Value, bytes: Vec<u8>) -> u16 {
    let mut request = stack.http.put(ticket["upload_url"].as_str().unwrap());
    for (name, value) in ticket["headers"].as_object().unwrap() {
        if name != "content-length" {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    request.body(bytes).send().await.unwrap().status().as_u16()
}

/// An upload of `bytes` as `purpose`, made and sent → its id.
async fn uploaded(
    stack: &TestStack,
    key: &str,
    purpose: &str,
    filename: &str,
    mime_type: &str,
    bytes: Vec<u8>,
) -> String {
    let ticket = upload_ticket(
        stack,
        key,
        json!({ "purpose": purpose, "filename": filename, "mime_type": mime_type, "size": bytes.len() }),
    )
    .await;
    assert_eq!(put(stack, &ticket, bytes).await, 200, "{ticket}");
    ticket["id"].as_str().unwrap().to_string()
}

/// Follows one redirect of `url` → (the redirect's status, the target's status and bytes,
/// the target's `Content-Disposition`).
async fn fetch(stack: &TestStack, url: &str) -> (u16, u16, Vec<u8>, String) {
    let first = stack.http.get(url).send().await.unwrap();
    let status = first.status().as_u16();
    let Some(location) = first.headers().get("location") else {
        return (status, 0, Vec::new(), String::new());
    };
    let target = stack
        .http
        .get(location.to_str().unwrap())
        .send()
        .await
        .unwrap();
    let disposition = target
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let target_status = target.status().as_u16();
    (
        status,
        target_status,
        target.bytes().await.unwrap().to_vec(),
        disposition,
    )
}

#[tokio::test]
async fn images_and_files_are_uploaded_attached_served_and_deleted_with_their_product() {
    let stack = stack().await;
    let acct = stack.account("media@example.com").await;
    let key = &acct.test_key;
    let logo = png(3_463);
    let image_id = uploaded(&stack, key, "image", "logo.png", "image/png", logo.clone()).await;
    let archive = zip(2_048);
    let file_id = uploaded(
        &stack,
        key,
        "file",
        "my product.zip",
        "application/zip",
        archive.clone(),
    )
    .await;

    let sold = product(
        &stack,
        key,
        json!({ "title": "Sound pack", "product_type": 1, "image": image_id, "file": file_id }),
    )
    .await;
    let shown = expect(stack.get(&format!("/products/{}", sold.id), key).await, 200).await;
    assert_eq!(shown["image"]["id"], json!(image_id));
    assert_eq!(shown["image"]["storage"], "images");
    assert_eq!(
        shown["image"]["metadata"],
        json!({ "size": 3_463, "filename": "logo.png", "mime_type": "image/png" })
    );
    assert_eq!(
        shown["file"]["metadata"],
        json!({ "size": 2_048, "filename": "my product.zip", "mime_type": "application/zip" })
    );
    assert_eq!(
        shown["file"]["url"],
        Value::Null,
        "a file has no address to share"
    );

    // The image, to anyone, by its URL.
    let image_url = shown["image"]["url"].as_str().unwrap().to_string();
    let (redirect, served, bytes, _) = fetch(&stack, &image_url).await;
    assert_eq!((redirect, served), (302, 200));
    assert_eq!(bytes, logo);

    // One upload is one object: attached once.
    let again = stack.refuses(Method::POST, "/products", key, json!({ "title": "Copy", "price": "1.00", "currency": "USD", "gateways": ["paypal"], "image": image_id }), 400)
    .await;
    assert!(
        again.to_string().contains("was not found as a image"),
        "{again}"
    );

    // The file, to the customer who paid, and only once they paid.
    let order = pay(
        &stack,
        key,
        json!({ "product_id": sold.id, "title": null, "value": null, "currency": null }),
    )
    .await;
    let page = order.url.clone().unwrap();
    let download = format!("{page}/file");
    let (refused, ..) = fetch(&stack, &download).await;
    assert_eq!(refused, 403, "not paid yet");
    let html = page_text(&stack, &page).await;
    assert!(!html.contains("id=\"download\""));
    stack.api(key).orders().set_status(&order.id, 100).await;
    let html = page_text(&stack, &page).await;
    assert!(html.contains("Download my product.zip"), "{html}");
    let (redirect, served, bytes, disposition) = fetch(&stack, &download).await;
    assert_eq!((redirect, served), (302, 200));
    assert_eq!(bytes, archive);
    assert!(
        disposition.starts_with("attachment; filename=\"my product.zip\""),
        "{disposition}"
    );

    // A category's image.
    let banner = uploaded(&stack, key, "image", "banner.png", "image/png", png(100)).await;
    let category = expect(
        stack
            .post(
                "/categories",
                key,
                json!({ "title": "Audio", "image": banner }),
            )
            .await,
        201,
    )
    .await;
    assert_eq!(category["image"]["metadata"]["filename"], "banner.png");

    // Deleting the product deletes its objects: the image's address and the file's
    // download lead nowhere.
    let file_location = stack.http.get(&download).send().await.unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    expect(
        stack.delete(&format!("/products/{}", sold.id), key).await,
        204,
    )
    .await;
    let (_, gone, ..) = fetch(&stack, &image_url).await;
    assert_eq!(
        gone, 403,
        "the image is deleted (403: S3's answer to a role that may not list)"
    );
    // S3 answers a missing key 403 to a role that may not list the bucket, as ours.
    let file_now = stack.http.get(&file_location).send().await.unwrap();
    let status = file_now.status();
    let text = file_now.text().await.unwrap();
    assert_eq!(status, StatusCode::FORBIDDEN, "the file is deleted: {text}");
    assert!(text.contains("AccessDenied"), "{text}");
    let (_, no_file, ..) = fetch(&stack, &download).await;
    assert_eq!(no_file, 0, "nothing to download any more");
}

#[tokio::test]
async fn bad_uploads_are_refused_and_change_nothing() {
    let stack = stack().await;
    let acct = stack.account("media-bad@example.com").await;
    let other = stack.account("media-other@example.com").await;
    let key = &acct.test_key;

    // What is declared is checked before any URL is handed out.
    let (status, body) = status_and_json(
        stack
            .post("/uploads", key, json!({ "purpose": "file", "filename": "huge.zip", "mime_type": "application/zip", "size": 2_147_483_648u64 }))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!(["Size must be at most 104857600 bytes for a file (2147483648 given)"])
    );
    let (status, body) = status_and_json(
        stack
            .post("/uploads", key, json!({ "purpose": "image", "filename": "x.svg", "mime_type": "image/svg+xml", "size": 10 }))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("Mime type \"image/svg+xml\" is not accepted for a image")
    );

    // S3 holds the upload to what was signed: more bytes than declared are refused.
    let ticket = upload_ticket(
        &stack,
        key,
        json!({ "purpose": "image", "filename": "logo.png", "mime_type": "image/png", "size": 100 }),
    )
    .await;
    assert_eq!(
        put(&stack, &ticket, png(5_000)).await,
        403,
        "a bigger body than signed"
    );

    // Bytes that are not what they claim to be are refused when attached.
    let fake = uploaded(
        &stack,
        key,
        "image",
        "logo.png",
        "image/png",
        b"<svg onload=alert(1)>".to_vec(),
    )
    .await;
    let good = uploaded(&stack, key, "image", "good.png", "image/png", png(64)).await;
    let item = product(&stack, key, json!({ "title": "Poster", "image": good })).await;
    let path = format!("/products/{}", item.id);
    let before = expect(stack.get(&path, key).await, 200).await;
    let (status, body) = status_and_json(
        stack
            .put(&path, key, json!({ "image": fake, "title": "Renamed" }))
            .await,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["errors"],
        json!(["Image: the uploaded bytes are not a image/png image"])
    );
    assert_eq!(
        expect(stack.get(&path, key).await, 200).await,
        before,
        "nothing changed"
    );

    // Another tenant's upload, or a file given as an image, is not found.
    let theirs = uploaded(
        &stack,
        &other.test_key,
        "image",
        "theirs.png",
        "image/png",
        png(64),
    )
    .await;
    let file = uploaded(&stack, key, "file", "a.zip", "application/zip", zip(64)).await;
    for (field, id) in [("image", &theirs), ("image", &file), ("file", &good)] {
        let (status, body) =
            status_and_json(stack.put(&path, key, json!({ field: id })).await).await;
        assert_eq!(status, 400, "{field} {id}: {body}");
    }
    assert_eq!(
        expect(stack.get(&path, key).await, 200).await,
        before,
        "nothing changed"
    );
    let (status, _) =
        status_and_json(stack.put(&path, key, json!({ "image": "not-an-id" })).await).await;
    assert_eq!(status, 400);

    // Removing the image deletes it.
    let image_url = before["image"]["url"].as_str().unwrap().to_string();
    let removed = expect(stack.put(&path, key, json!({ "image": null })).await, 200).await;
    assert_eq!(removed["image"], Value::Null);
    let (_, gone, ..) = fetch(&stack, &image_url).await;
    assert_eq!(gone, 403, "deleted");
}
