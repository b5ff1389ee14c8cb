//! Creates the tables and queues of template.yaml (idempotently) and resolves the
//! functions' environment against them: the local twin of a CloudFormation deploy.

use crate::{
    BoxError,
    template::{EnvValue, QueueSpec, TableSpec, Template},
};
use aws_sdk_dynamodb::{
    error::ProvideErrorMetadata,
    types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
    },
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::BTreeMap;

/// Physical names of what was provisioned, by logical id.
#[derive(Debug, Default, Clone)]
pub struct Provisioned {
    pub tables: BTreeMap<String, String>,
    /// Queue URL and ARN.
    pub queues: BTreeMap<String, (String, String)>,
    /// KMS key id and ARN.
    pub keys: BTreeMap<String, (String, String)>,
    /// S3 bucket names.
    pub buckets: BTreeMap<String, String>,
    /// What `AWS::StackName` stands for locally: the prefix without its last `-`.
    pub stack_name: String,
}

/// Local resources are named `{prefix}{LogicalId}`, so many stacks share one emulator.
pub fn physical_name(prefix: &str, logical_id: &str) -> String {
    format!("{prefix}{logical_id}")
}

/// A bucket's local name: the physical name in the lower case S3 requires.
pub fn bucket_name(prefix: &str, logical_id: &str) -> String {
    physical_name(prefix, logical_id).to_ascii_lowercase()
}

pub async fn provision(
    template: &Template,
    prefix: &str,
    sdk: &aws_config::SdkConfig,
) -> Result<Provisioned, BoxError> {
    let dynamo = &aws_sdk_dynamodb::Client::new(sdk);
    let sqs = &aws_sdk_sqs::Client::new(sdk);
    let kms = &aws_sdk_kms::Client::new(sdk);
    let mut provisioned = Provisioned {
        stack_name: prefix.trim_end_matches('-').to_string(),
        ..Provisioned::default()
    };
    for logical_id in template.buckets() {
        let name = bucket_name(prefix, &logical_id);
        shared::store::media::Media::new(sdk, &name)
            .create_bucket()
            .await
            .map_err(|e| format!("creating bucket {name}: {e}"))?;
        provisioned.buckets.insert(logical_id, name);
    }
    for logical_id in template.kms_keys() {
        let key = kms_key(kms, &key_alias(prefix, &logical_id)).await?;
        provisioned.keys.insert(logical_id, key);
    }
    for table in template.tables()? {
        let name = physical_name(prefix, &table.logical_id);
        create_table(dynamo, &name, &table).await?;
        provisioned.tables.insert(table.logical_id, name);
    }
    // Dead-letter queues first: a queue's redrive policy needs its target's ARN.
    let mut queues = template.queues()?;
    queues.sort_by_key(|q| q.dead_letter.is_some());
    for queue in queues {
        let name = physical_name(prefix, &queue.logical_id);
        let created = create_queue(sqs, &name, &queue, &provisioned).await?;
        provisioned.queues.insert(queue.logical_id, created);
    }
    Ok(provisioned)
}

/// A local KMS key is found again by its alias, `alias/{prefix}{LogicalId}`.
pub fn key_alias(prefix: &str, logical_id: &str) -> String {
    format!("alias/{}", physical_name(prefix, logical_id))
}

/// The key `alias` names, created (with the alias) if there is none: its id and ARN.
async fn kms_key(client: &aws_sdk_kms::Client, alias: &str) -> Result<(String, String), BoxError> {
    let described = client.describe_key().key_id(alias).send().await;
    let metadata = match described {
        Ok(found) => found.key_metadata,
        Err(e) if e.code() == Some("NotFoundException") => {
            let created = client
                .create_key()
                .description(format!("PushGuard local {alias}"))
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "creating KMS key {alias}: {}",
                        aws_sdk_kms::error::DisplayErrorContext(e)
                    )
                })?
                .key_metadata;
            let id = created
                .as_ref()
                .map(|m| m.key_id().to_string())
                .unwrap_or_default();
            client
                .create_alias()
                .alias_name(alias)
                .target_key_id(&id)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "naming KMS key {alias}: {}",
                        aws_sdk_kms::error::DisplayErrorContext(e)
                    )
                })?;
            created
        }
        Err(e) => {
            return Err(format!(
                "reading KMS key {alias}: {}",
                aws_sdk_kms::error::DisplayErrorContext(e)
            )
            .into());
        }
    };
    let metadata = metadata.ok_or("KMS returned no key metadata")?;
    let arn = metadata.arn().ok_or("KMS returned no key ARN")?.to_string();
    Ok((metadata.key_id().to_string(), arn))
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    spec: &TableSpec,
) -> Result<(), BoxError> {
    let keys = |parts: &[crate::template::KeyPart]| -> Result<Vec<KeySchemaElement>, BoxError> {
        parts
            .iter()
            .map(|k| {
                Ok(KeySchemaElement::builder()
                    .attribute_name(&k.attribute)
                    .key_type(KeyType::from(k.key_type.as_str()))
                    .build()?)
            })
            .collect()
    };
    let attributes = spec
        .attributes
        .iter()
        .map(|(name, kind)| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut indexes = Vec::new();
    for index in &spec.indexes {
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(keys(&index.keys)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .set_non_key_attributes(
                            (!index.included.is_empty()).then(|| index.included.clone()),
                        )
                        .build(),
                )
                .build()?,
        );
    }
    let result = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(keys(&spec.keys)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceInUseException") => return Ok(()),
        Err(e) => {
            return Err(format!(
                "creating table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
            .into());
        }
    }
    if let Some(attribute) = &spec.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .map_err(|e| {
                format!(
                    "enabling TTL on {name}: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                )
            })?;
    }
    Ok(())
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    spec: &QueueSpec,
    provisioned: &Provisioned,
) -> Result<(String, String), BoxError> {
    let mut request = client.create_queue().queue_name(name);
    for (attribute, value) in &spec.attributes {
        request = request.attributes(QueueAttributeName::from(attribute.as_str()), value);
    }
    if let Some((target, max_receive)) = &spec.dead_letter {
        let (_, arn) = provisioned.queues.get(target).ok_or_else(|| {
            format!(
                "{}: dead-letter queue {target} is not declared",
                spec.logical_id
            )
        })?;
        let policy = serde_json::json!({ "deadLetterTargetArn": arn, "maxReceiveCount": max_receive.to_string() });
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
    }
    let url = request
        .send()
        .await
        .map_err(|e| {
            format!(
                "creating queue {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?
        .queue_url
        .ok_or("SQS returned no queue URL")?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "reading queue {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or("SQS returned no queue ARN")?;
    Ok((url, arn))
}

/// Every function's environment with references resolved to what was provisioned.
/// `overrides` replace settings (parameters and literals), never resource names.
pub fn environment(
    template: &Template,
    provisioned: &Provisioned,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, BoxError> {
    resolve(template, template.environment()?, provisioned, overrides)
}

/// `!Sub` text with pseudo parameters and template parameters filled in; the local
/// stack's name is its prefix.
fn substitute(
    template: &Template,
    text: &str,
    provisioned: &Provisioned,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or("unclosed ${ in !Sub")? + start;
        let name = &rest[start + 2..end];
        let value = match name {
            "AWS::StackName" => provisioned.stack_name.clone(),
            "AWS::Region" => crate::strict::iam::REGION.to_string(),
            "AWS::AccountId" => crate::strict::iam::ACCOUNT_ID.to_string(),
            other if template.is_parameter(other) => template
                .parameter_default(other)
                .ok_or_else(|| format!("parameter {other} has no default"))?,
            other => return Err(format!("!Sub ${{{other}}} is not supported locally")),
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `variables` (one function's, say) resolved as [`environment`] resolves them.
pub fn resolve(
    template: &Template,
    variables: BTreeMap<String, EnvValue>,
    provisioned: &Provisioned,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, BoxError> {
    let mut resolved = BTreeMap::new();
    for (name, value) in variables {
        let is_resource = matches!(&value, EnvValue::Ref(id) if !template.is_parameter(id))
            || matches!(value, EnvValue::GetAtt(..));
        let text = match (overrides.get(&name), value) {
            (Some(value), _) if !is_resource => value.clone(),
            (_, EnvValue::Literal(text)) => text,
            (_, EnvValue::Sub(text)) => {
                substitute(template, &text, provisioned).map_err(|e| format!("{name}: {e}"))?
            }
            (_, EnvValue::Ref(id)) if template.is_parameter(&id) => template
                .parameter_default(&id)
                .ok_or_else(|| format!("parameter {id} has no default"))?,
            (_, EnvValue::Ref(id)) => provisioned
                .tables
                .get(&id)
                .cloned()
                .or_else(|| provisioned.queues.get(&id).map(|(url, _)| url.clone()))
                .or_else(|| provisioned.keys.get(&id).map(|(key_id, _)| key_id.clone()))
                .or_else(|| provisioned.buckets.get(&id).cloned())
                .ok_or_else(|| format!("{name}: !Ref {id} names nothing provisioned"))?,
            (_, EnvValue::GetAtt(id, attribute)) => {
                match (provisioned.queues.get(&id), attribute.as_str()) {
                    (Some((url, _)), "QueueUrl") => url.clone(),
                    (Some((_, arn)), "Arn") => arn.clone(),
                    (None, "Arn") if provisioned.keys.contains_key(&id) => {
                        provisioned.keys[&id].1.clone()
                    }
                    _ => {
                        return Err(format!(
                            "{name}: !GetAtt {id}.{attribute} is not supported locally"
                        )
                        .into());
                    }
                }
            }
        };
        resolved.insert(name, text);
    }
    for (name, value) in overrides {
        resolved
            .entry(name.clone())
            .or_insert_with(|| value.clone());
    }
    Ok(resolved)
}
