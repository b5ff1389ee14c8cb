//! Reads the tables, queues and function environment that template.yaml declares,
//! so the local stack is provisioned from the same file that deploys to AWS.

use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;

/// The template shipped with this binary (override with `--template`).
pub const BUNDLED: &str = include_str!("../../template.yaml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPart {
    pub attribute: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub keys: Vec<KeyPart>,
    pub projection: String,
    /// With an `INCLUDE` projection: the attributes it carries beside the keys.
    pub included: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<KeyPart>,
    pub indexes: Vec<IndexSpec>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    /// Queue attributes by SQS attribute name (`VisibilityTimeout`, ...).
    pub attributes: BTreeMap<String, String>,
    /// The dead-letter queue's logical id and the receive count that sends messages there.
    pub dead_letter: Option<(String, u32)>,
}

/// A function as the template declares it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The cargo binary it is built from (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// `Policies` as written: inline documents, SAM policy templates, managed policy names.
    pub policies: Vec<Value>,
    /// Logical ids of the queues whose SQS event sources invoke it.
    pub sqs_queues: Vec<String>,
    /// Its environment: the globals, then its own variables.
    pub environment: BTreeMap<String, EnvValue>,
    /// `MemorySize` (its own, else the globals'; Lambda's default 128).
    pub memory_mb: u32,
    /// `Timeout` in seconds (its own, else the globals'; Lambda's default 3).
    pub timeout_seconds: u64,
    /// `RolePath` as written: where SAM puts its role (`/` when absent).
    pub role_path: Option<Value>,
}

/// The value of an environment variable in the template, before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    Ref(String),
    GetAtt(String, String),
    /// `!Sub "text"` (pseudo parameters and template parameters only).
    Sub(String),
}

#[derive(Debug)]
pub struct Template {
    resources: Mapping,
    parameters: Mapping,
    globals_environment: Mapping,
    globals_function: Mapping,
}

#[derive(Debug)]
pub struct TemplateError(pub String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template.yaml: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

fn err(message: impl Into<String>) -> TemplateError {
    TemplateError(message.into())
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping().and_then(|m| m.get(key))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Template {
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let root: Value = serde_yaml::from_str(source).map_err(|e| err(e.to_string()))?;
        let mapping = |key: &str| {
            get(&root, key)
                .and_then(Value::as_mapping)
                .cloned()
                .unwrap_or_default()
        };
        let globals_environment = get(&root, "Globals")
            .and_then(|g| get(g, "Function"))
            .and_then(|f| get(f, "Environment"))
            .and_then(|e| get(e, "Variables"))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        let globals_function = get(&root, "Globals")
            .and_then(|g| get(g, "Function"))
            .and_then(Value::as_mapping)
            .cloned()
            .unwrap_or_default();
        Ok(Template {
            resources: mapping("Resources"),
            parameters: mapping("Parameters"),
            globals_environment,
            globals_function,
        })
    }

    fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (String, &'a Value)> + 'a {
        self.resources.iter().filter_map(move |(id, resource)| {
            let matches = get(resource, "Type").and_then(Value::as_str) == Some(kind);
            matches.then(|| {
                (
                    id.as_str().unwrap_or_default().to_string(),
                    get(resource, "Properties").unwrap_or(&Value::Null),
                )
            })
        })
    }

    /// Every API route the template gives a function: `(function, method, path)`.
    pub fn http_routes(&self) -> Vec<(String, String, String)> {
        let mut routes = Vec::new();
        for (function, props) in self.resources_of("AWS::Serverless::Function") {
            let events = get(props, "Events").and_then(Value::as_mapping);
            for event in events.into_iter().flat_map(|m| m.values()) {
                if get(event, "Type").and_then(Value::as_str) != Some("HttpApi") {
                    continue;
                }
                let props = get(event, "Properties").unwrap_or(&Value::Null);
                let method = get(props, "Method").and_then(text).unwrap_or_default();
                let path = get(props, "Path").and_then(text).unwrap_or_default();
                routes.push((function.clone(), method, path));
            }
        }
        routes
    }

    /// Every `AWS::Serverless::Function`, with what IAM and the local stack need of it.
    pub fn functions(&self) -> Result<Vec<FunctionSpec>, TemplateError> {
        self.resources_of("AWS::Serverless::Function")
            .map(|(logical_id, props)| {
                let binary = self
                    .resources
                    .get(logical_id.as_str())
                    .and_then(|r| get(r, "Metadata"))
                    .and_then(|m| get(m, "BuildProperties"))
                    .and_then(|b| get(b, "Binary"))
                    .and_then(text)
                    .ok_or_else(|| {
                        err(format!(
                            "{logical_id} has no Metadata.BuildProperties.Binary"
                        ))
                    })?;
                let policies = get(props, "Policies")
                    .and_then(Value::as_sequence)
                    .cloned()
                    .unwrap_or_default();
                let sqs_queues = get(props, "Events")
                    .and_then(Value::as_mapping)
                    .into_iter()
                    .flat_map(|events| events.values())
                    .filter(|event| get(event, "Type").and_then(Value::as_str) == Some("SQS"))
                    .map(|event| {
                        get(event, "Properties")
                            .and_then(|p| get(p, "Queue"))
                            .and_then(named_resource)
                            .ok_or_else(|| {
                                err(format!(
                                    "{logical_id}: an SQS event's Queue must be !GetAtt Queue.Arn"
                                ))
                            })
                    })
                    .collect::<Result<_, _>>()?;
                let mut environment = BTreeMap::new();
                add_variables(&mut environment, &self.globals_environment)?;
                if let Some(own) = get(props, "Environment")
                    .and_then(|e| get(e, "Variables"))
                    .and_then(Value::as_mapping)
                {
                    add_variables(&mut environment, own)?;
                }
                let setting = |name: &str, default: u64| -> Result<u64, TemplateError> {
                    get(props, name)
                        .or_else(|| self.globals_function.get(name))
                        .map(|v| {
                            text(v).and_then(|t| t.parse().ok()).ok_or_else(|| {
                                err(format!("{logical_id}: {name} must be a number"))
                            })
                        })
                        .unwrap_or(Ok(default))
                };
                Ok(FunctionSpec {
                    memory_mb: setting("MemorySize", 128)? as u32,
                    timeout_seconds: setting("Timeout", 3)?,
                    logical_id,
                    binary,
                    policies,
                    sqs_queues,
                    environment,
                    role_path: get(props, "RolePath").cloned(),
                })
            })
            .collect()
    }

    pub fn tables(&self) -> Result<Vec<TableSpec>, TemplateError> {
        self.resources_of("AWS::DynamoDB::Table")
            .map(|(logical_id, props)| {
                let keys = key_schema(get(props, "KeySchema"), &logical_id)?;
                let attributes = get(props, "AttributeDefinitions")
                    .and_then(Value::as_sequence)
                    .ok_or_else(|| err(format!("{logical_id} has no AttributeDefinitions")))?
                    .iter()
                    .map(|a| {
                        Ok((
                            get(a, "AttributeName")
                                .and_then(text)
                                .ok_or_else(|| err("AttributeName missing"))?,
                            get(a, "AttributeType")
                                .and_then(text)
                                .ok_or_else(|| err("AttributeType missing"))?,
                        ))
                    })
                    .collect::<Result<_, TemplateError>>()?;
                let indexes = get(props, "GlobalSecondaryIndexes")
                    .and_then(Value::as_sequence)
                    .map(|list| {
                        list.iter()
                            .map(|index| {
                                Ok(IndexSpec {
                                    name: get(index, "IndexName")
                                        .and_then(text)
                                        .ok_or_else(|| err("IndexName missing"))?,
                                    keys: key_schema(get(index, "KeySchema"), &logical_id)?,
                                    projection: get(index, "Projection")
                                        .and_then(|p| get(p, "ProjectionType"))
                                        .and_then(text)
                                        .unwrap_or_else(|| "ALL".into()),
                                    included: get(index, "Projection")
                                        .and_then(|p| get(p, "NonKeyAttributes"))
                                        .and_then(Value::as_sequence)
                                        .map(|names| names.iter().filter_map(text).collect())
                                        .unwrap_or_default(),
                                })
                            })
                            .collect::<Result<Vec<_>, TemplateError>>()
                    })
                    .transpose()?
                    .unwrap_or_default();
                let ttl_attribute = get(props, "TimeToLiveSpecification")
                    .filter(|t| get(t, "Enabled").and_then(Value::as_bool) == Some(true))
                    .and_then(|t| get(t, "AttributeName"))
                    .and_then(text);
                Ok(TableSpec {
                    logical_id,
                    attributes,
                    keys,
                    indexes,
                    ttl_attribute,
                })
            })
            .collect()
    }

    /// The logical ids of the KMS keys the template declares.
    /// Each KMS key's `KeyPolicy` as written, by the key's logical id.
    pub fn key_policies(&self) -> Vec<(String, Value)> {
        self.resources_of("AWS::KMS::Key")
            .filter_map(|(logical_id, props)| {
                get(props, "KeyPolicy").map(|policy| (logical_id, policy.clone()))
            })
            .collect()
    }

    /// The S3 buckets' logical ids.
    pub fn buckets(&self) -> Vec<String> {
        self.resources_of("AWS::S3::Bucket")
            .map(|(logical_id, _)| logical_id)
            .collect()
    }

    pub fn kms_keys(&self) -> Vec<String> {
        self.resources_of("AWS::KMS::Key")
            .map(|(logical_id, _)| logical_id)
            .collect()
    }

    pub fn queues(&self) -> Result<Vec<QueueSpec>, TemplateError> {
        const ATTRIBUTES: [&str; 6] = [
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "ReceiveMessageWaitTimeSeconds",
            "MaximumMessageSize",
            "FifoQueue",
        ];
        self.resources_of("AWS::SQS::Queue")
            .map(|(logical_id, props)| {
                let attributes = ATTRIBUTES
                    .iter()
                    .filter_map(|name| {
                        get(props, name)
                            .and_then(text)
                            .map(|v| (name.to_string(), v))
                    })
                    .collect();
                let dead_letter = match get(props, "RedrivePolicy") {
                    None => None,
                    Some(policy) => {
                        let target = get(policy, "deadLetterTargetArn")
                            .and_then(named_resource)
                            .ok_or_else(|| {
                                err(format!(
                                    "{logical_id}: deadLetterTargetArn must be !GetAtt Queue.Arn"
                                ))
                            })?;
                        let count = get(policy, "maxReceiveCount")
                            .and_then(text)
                            .and_then(|c| c.parse().ok())
                            .ok_or_else(|| err(format!("{logical_id}: maxReceiveCount missing")))?;
                        Some((target, count))
                    }
                };
                Ok(QueueSpec {
                    logical_id,
                    attributes,
                    dead_letter,
                })
            })
            .collect()
    }

    /// Every environment variable any function gets: the globals, then each function's own.
    pub fn environment(&self) -> Result<BTreeMap<String, EnvValue>, TemplateError> {
        let mut variables = BTreeMap::new();
        for function in self.functions()? {
            variables.extend(function.environment);
        }
        Ok(variables)
    }

    /// A parameter's default value, as text.
    pub fn parameter_default(&self, name: &str) -> Option<String> {
        self.parameters
            .get(name)
            .and_then(|p| get(p, "Default"))
            .and_then(text)
    }

    pub fn is_parameter(&self, name: &str) -> bool {
        self.parameters.contains_key(name)
    }
}

fn add_variables(
    variables: &mut BTreeMap<String, EnvValue>,
    mapping: &Mapping,
) -> Result<(), TemplateError> {
    for (name, value) in mapping {
        let name = name
            .as_str()
            .ok_or_else(|| err("environment variable names must be strings"))?;
        let value = env_value(value)
            .ok_or_else(|| err(format!("cannot resolve environment variable {name}")))?;
        variables.insert(name.to_string(), value);
    }
    Ok(())
}

fn key_schema(value: Option<&Value>, logical_id: &str) -> Result<Vec<KeyPart>, TemplateError> {
    value
        .and_then(Value::as_sequence)
        .ok_or_else(|| err(format!("{logical_id} has no KeySchema")))?
        .iter()
        .map(|k| {
            Ok(KeyPart {
                attribute: get(k, "AttributeName")
                    .and_then(text)
                    .ok_or_else(|| err("AttributeName missing"))?,
                key_type: get(k, "KeyType")
                    .and_then(text)
                    .ok_or_else(|| err("KeyType missing"))?,
            })
        })
        .collect()
}

/// The logical id that `!GetAtt X.Arn` or `!Ref X` names.
fn named_resource(value: &Value) -> Option<String> {
    match env_value(value)? {
        EnvValue::GetAtt(id, _) | EnvValue::Ref(id) => Some(id),
        EnvValue::Literal(_) | EnvValue::Sub(_) => None,
    }
}

/// `!Ref X`, `!GetAtt X.Attr`, their long forms, or a literal.
fn env_value(value: &Value) -> Option<EnvValue> {
    if let Value::Tagged(tagged) = value {
        let inner = text(&tagged.value);
        return match tagged.tag.to_string().as_str() {
            "!Ref" => inner.map(EnvValue::Ref),
            "!GetAtt" => inner.and_then(|s| {
                s.split_once('.')
                    .map(|(a, b)| EnvValue::GetAtt(a.into(), b.into()))
            }),
            "!Sub" => inner.map(EnvValue::Sub),
            _ => None,
        };
    }
    if let Some(target) = get(value, "Ref").and_then(text) {
        return Some(EnvValue::Ref(target));
    }
    if let Some(parts) = get(value, "Fn::GetAtt").and_then(Value::as_sequence) {
        let parts: Vec<String> = parts.iter().filter_map(text).collect();
        if let [resource, attribute] = parts.as_slice() {
            return Some(EnvValue::GetAtt(resource.clone(), attribute.clone()));
        }
    }
    text(value).map(EnvValue::Literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_template_declares_the_tables_and_queues_the_code_uses() {
        let template = Template::parse(BUNDLED).unwrap();
        let tables: Vec<String> = template
            .tables()
            .unwrap()
            .into_iter()
            .map(|t| t.logical_id)
            .collect();
        for table in [
            "AccountsTable",
            "ApiKeysTable",
            "EndpointsTable",
            "RequestsTable",
        ] {
            assert!(
                tables.contains(&table.to_string()),
                "{table} missing from {tables:?}"
            );
        }
        let queues = template.queues().unwrap();
        let events = queues
            .iter()
            .find(|q| q.logical_id == "EventsQueue")
            .unwrap();
        assert_eq!(
            events.dead_letter,
            Some(("EventsDeadLetterQueue".into(), 5))
        );
        let env = template.environment().unwrap();
        assert_eq!(
            env["ENDPOINTS_TABLE"],
            EnvValue::Ref("EndpointsTable".into())
        );
        assert_eq!(
            template.parameter_default("MaxEndpoints").as_deref(),
            Some("10")
        );
    }

    #[test]
    fn key_index_and_ttl_are_read() {
        let template = Template::parse(BUNDLED).unwrap();
        let keys = template
            .tables()
            .unwrap()
            .into_iter()
            .find(|t| t.logical_id == "ApiKeysTable")
            .unwrap();
        assert_eq!(keys.keys[0].attribute, "key_hash");
        assert_eq!(keys.indexes[0].name, "by_account");
        assert_eq!(keys.indexes[0].keys[1].key_type, "RANGE");
        assert_eq!(keys.ttl_attribute.as_deref(), Some("expires_at_epoch"));
    }

    #[test]
    fn long_form_intrinsics_are_understood() {
        let value: Value = serde_yaml::from_str("{ Ref: Thing }").unwrap();
        assert_eq!(env_value(&value), Some(EnvValue::Ref("Thing".into())));
        let value: Value = serde_yaml::from_str("{ 'Fn::GetAtt': [Queue, Arn] }").unwrap();
        assert_eq!(
            env_value(&value),
            Some(EnvValue::GetAtt("Queue".into(), "Arn".into()))
        );
        let value: Value = serde_yaml::from_str("!Sub 'PushGuard/${AWS::StackName}'").unwrap();
        assert_eq!(
            env_value(&value),
            Some(EnvValue::Sub("PushGuard/${AWS::StackName}".into()))
        );
        let value: Value = serde_yaml::from_str("!Join ['', [a, b]]").unwrap();
        assert_eq!(env_value(&value), None, "not modelled");
    }
}
