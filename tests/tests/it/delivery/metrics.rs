//! The metrics deliveries write, as CloudWatch reads them (embedded metric format).

use super::*;

#[tokio::test]
async fn deliveries_write_embedded_metric_format_lines_cloudwatch_reads() {
    let stack = fast_stack(&[("METRICS_NAMESPACE", "PushGuard/emf-test")]).await;
    let receiver = Receiver::start().await;
    receiver.set("/metered", Behaviour::FailTimes(1, 503));
    let acct = stack.account("metrics@example.com").await;
    endpoint(
        &stack,
        &acct.test_key,
        &receiver.url("/metered"),
        json!(["order:paid"]),
    )
    .await;
    publish(&stack, &acct.test_key, "order:paid", json!({ "id": 1 })).await;
    receiver.wait_for("/metered", 2).await;

    // Lines are flushed per SQS batch; other tests' stacks write theirs too.
    let wanted = [
        ("Deliveries", "Count", vec!["Outcome"]),
        ("DeliveryDuration", "Milliseconds", vec![]),
        ("DeliveryLag", "Milliseconds", vec![]),
        ("RetriesScheduled", "Count", vec![]),
    ];
    let lines = eventually("the delivery's metrics are written", || async {
        let lines: Vec<Value> = shared::metrics::recent()
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        let has = |name: &str, outcome: Option<&str>| {
            lines
                .iter()
                .any(|l| l.get(name).is_some() && outcome.is_none_or(|o| l["Outcome"] == o))
        };
        (has("Deliveries", Some("retrying"))
            && has("Deliveries", Some("succeeded"))
            && wanted.iter().all(|(name, _, _)| has(name, None))
            && lines
                .iter()
                .any(|l| l["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "PushGuard/emf-test"))
        .then_some(lines)
    })
    .await;
    for (name, unit, dimensions) in wanted {
        for line in lines.iter().filter(|l| l.get(name).is_some()) {
            let directive = &line["_aws"]["CloudWatchMetrics"][0];
            assert!(line["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
            assert!(
                directive["Namespace"]
                    .as_str()
                    .unwrap()
                    .starts_with("PushGuard")
            );
            assert_eq!(
                directive["Metrics"],
                json!([{ "Name": name, "Unit": unit }]),
                "{line}"
            );
            assert_eq!(directive["Dimensions"], json!([dimensions]), "{line}");
            for dimension in &dimensions {
                assert!(line[dimension].is_string(), "{line}");
            }
            match unit {
                "Count" => assert!(line[name].as_f64().unwrap() >= 1.0, "{line}"),
                _ => assert!(
                    line[name].as_array().is_some_and(|v| !v.is_empty()),
                    "{line}"
                ),
            }
        }
    }
    // Nothing secret rides along: only the directive, dimensions and the value.
    for line in &lines {
        let text = line.to_string();
        assert!(
            !text.contains("whsec_") && !text.contains("pg_test_"),
            "{text}"
        );
    }
}
