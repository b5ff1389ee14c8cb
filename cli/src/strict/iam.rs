//! IAM as AWS evaluates a function's role: the policies template.yaml gives the function
//! (inline documents, SAM policy templates, the managed policies SAM attaches), with every
//! intrinsic resolved to what the local stack provisioned. An explicit deny wins, then
//! any allow; anything else is denied.
//!
//! A KMS key's own policy is evaluated too ([`KeyPolicy`]): a key use needs both the
//! role's allow and the key policy's, as in AWS, where the key policy names the roles
//! that may use it (by role ARN, path included) and the encryption context they must
//! give.

use crate::{
    provision::Provisioned,
    template::{FunctionSpec, Template, TemplateError},
};
use serde_yaml::Value;
use std::collections::BTreeMap;

/// The account and region the emulator answers as (moto's defaults).
pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";
const PARTITION: &str = "aws";
/// What `AWS::StackName` is locally.
pub const STACK_NAME: &str = "pushguard-local";

/// The ARN of the role SAM makes for `function`: `<LogicalId>Role` under its
/// `RolePath` (SAM adds a suffix in AWS; the key policy matches the path).
pub fn role_arn(function: &FunctionSpec, resolver: &Resolver) -> Result<String, TemplateError> {
    let path = match &function.role_path {
        Some(value) => resolver.resolve(value, &BTreeMap::new())?,
        None => "/".to_string(),
    };
    Ok(format!(
        "arn:{PARTITION}:iam::{ACCOUNT_ID}:role{path}{}Role",
        function.logical_id
    ))
}

fn err(message: impl Into<String>) -> TemplateError {
    TemplateError(message.into())
}

/// The ARN of a table, or of one of its indexes.
pub fn table_arn(table: &str, index: Option<&str>) -> String {
    let base = format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}");
    match index {
        Some(index) => format!("{base}/index/{index}"),
        None => base,
    }
}

/// The ARN of a queue, from its name.
pub fn queue_arn(name: &str) -> String {
    format!("arn:{PARTITION}:sqs:{REGION}:{ACCOUNT_ID}:{name}")
}

/// The ARN of a KMS key, from a key id, key ARN, alias name or alias ARN.
pub fn kms_arn(key: &str) -> String {
    if key.starts_with("arn:") {
        key.to_string()
    } else if key.starts_with("alias/") {
        format!("arn:{PARTITION}:kms:{REGION}:{ACCOUNT_ID}:{key}")
    } else {
        format!("arn:{PARTITION}:kms:{REGION}:{ACCOUNT_ID}:key/{key}")
    }
}

/// Resolves the template's intrinsics (`!Ref`, `!GetAtt`, `!Sub`, their long forms) to
/// the names and ARNs of what was provisioned.
pub struct Resolver<'a> {
    pub template: &'a Template,
    pub provisioned: &'a Provisioned,
}

impl Resolver<'_> {
    fn reference(
        &self,
        name: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<String, TemplateError> {
        if let Some(value) = vars.get(name) {
            return Ok(value.clone());
        }
        match name {
            "AWS::Region" => return Ok(REGION.into()),
            "AWS::AccountId" => return Ok(ACCOUNT_ID.into()),
            "AWS::Partition" => return Ok(PARTITION.into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            "AWS::StackName" => return Ok(STACK_NAME.into()),
            _ => {}
        }
        if self.template.is_parameter(name) {
            return self
                .template
                .parameter_default(name)
                .ok_or_else(|| err(format!("parameter {name} has no default")));
        }
        if let Some(table) = self.provisioned.tables.get(name) {
            return Ok(table.clone());
        }
        if let Some((url, _)) = self.provisioned.queues.get(name) {
            return Ok(url.clone());
        }
        if let Some((key_id, _)) = self.provisioned.keys.get(name) {
            return Ok(key_id.clone());
        }
        if let Some(bucket) = self.provisioned.buckets.get(name) {
            return Ok(bucket.clone());
        }
        Err(err(format!("!Ref {name} names nothing provisioned")))
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, TemplateError> {
        if let Some(table) = self.provisioned.tables.get(resource)
            && attribute == "Arn"
        {
            return Ok(table_arn(table, None));
        }
        if let Some((url, arn)) = self.provisioned.queues.get(resource) {
            match attribute {
                "Arn" => return Ok(arn.clone()),
                "QueueUrl" => return Ok(url.clone()),
                "QueueName" => return Ok(url.rsplit('/').next().unwrap_or_default().into()),
                _ => {}
            }
        }
        if let Some((_, arn)) = self.provisioned.keys.get(resource)
            && attribute == "Arn"
        {
            return Ok(arn.clone());
        }
        if let Some(bucket) = self.provisioned.buckets.get(resource)
            && attribute == "Arn"
        {
            return Ok(format!("arn:aws:s3:::{bucket}"));
        }
        Err(err(format!(
            "!GetAtt {resource}.{attribute} is not modelled locally"
        )))
    }

    fn substitute(
        &self,
        text: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| err(format!("unclosed ${{ in !Sub {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if vars.contains_key(name) || !name.contains('.') {
                out.push_str(&self.reference(name, vars)?);
            } else {
                let (resource, attribute) = name.split_once('.').unwrap_or((name, ""));
                out.push_str(&self.attribute(resource, attribute)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A template value as the text CloudFormation would put there.
    pub fn resolve(
        &self,
        value: &Value,
        vars: &BTreeMap<String, String>,
    ) -> Result<String, TemplateError> {
        let (tag, inner) = match value {
            Value::String(text) => return Ok(text.clone()),
            Value::Number(n) => return Ok(n.to_string()),
            Value::Bool(b) => return Ok(b.to_string()),
            Value::Tagged(tagged) => (tagged.tag.to_string(), &tagged.value),
            Value::Mapping(mapping) if mapping.len() == 1 => {
                let (key, inner) = mapping.iter().next().expect("one entry");
                let tag = match key.as_str() {
                    Some("Ref") => "!Ref",
                    Some("Fn::GetAtt") => "!GetAtt",
                    Some("Fn::Sub") => "!Sub",
                    _ => return Err(err(format!("cannot resolve {value:?}"))),
                };
                (tag.to_string(), inner)
            }
            other => return Err(err(format!("cannot resolve {other:?}"))),
        };
        match (tag.as_str(), inner) {
            ("!Ref", Value::String(name)) => self.reference(name, vars),
            ("!GetAtt", Value::String(path)) => {
                let (resource, attribute) = path
                    .split_once('.')
                    .ok_or_else(|| err(format!("!GetAtt {path} needs Resource.Attribute")))?;
                self.attribute(resource, attribute)
            }
            ("!GetAtt", Value::Sequence(parts)) => match parts.as_slice() {
                [Value::String(resource), Value::String(attribute)] => {
                    self.attribute(resource, attribute)
                }
                _ => Err(err(format!(
                    "!GetAtt {parts:?} needs [Resource, Attribute]"
                ))),
            },
            ("!Sub", Value::String(text)) => self.substitute(text, vars),
            ("!Sub", Value::Sequence(parts)) => match parts.as_slice() {
                [Value::String(text), Value::Mapping(own)] => {
                    let mut scope = vars.clone();
                    for (name, value) in own {
                        let name = name
                            .as_str()
                            .ok_or_else(|| err("!Sub variable names must be strings"))?;
                        scope.insert(name.to_string(), self.resolve(value, vars)?);
                    }
                    self.substitute(text, &scope)
                }
                _ => Err(err(format!("!Sub {parts:?} needs [text, variables]"))),
            },
            (tag, inner) => Err(err(format!("{tag} {inner:?} is not modelled locally"))),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Clone, Debug)]
struct Statement {
    effect: Effect,
    actions: Vec<String>,
    resources: Vec<String>,
    /// `ForAllValues:StringLike` on `dynamodb:LeadingKeys`: every partition key the
    /// request touches must match one of these (none: no such condition).
    leading_keys: Option<Vec<String>>,
}

impl Statement {
    fn allow(actions: &[&str], resources: Vec<String>) -> Self {
        Statement {
            effect: Effect::Allow,
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources,
            leading_keys: None,
        }
    }

    fn matches(&self, action: &str, resource: &str, leading: &[String]) -> bool {
        self.actions.iter().any(|pattern| {
            wildcard_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
        }) && self
            .resources
            .iter()
            .any(|pattern| wildcard_match(pattern, resource))
            // ForAllValues: true when every value matches, so also when there are none
            // (a query names no item: grant it with such a condition at your peril).
            && self.leading_keys.as_ref().is_none_or(|patterns| {
                leading
                    .iter()
                    .all(|key| patterns.iter().any(|p| wildcard_match(p, key)))
            })
    }
}

/// The one condition a role's statement may carry locally: `ForAllValues:StringLike`
/// on `dynamodb:LeadingKeys`; anything else is refused, not guessed.
fn leading_keys(condition: &Value, resolver: &Resolver) -> Result<Vec<String>, TemplateError> {
    let unmodelled = || {
        err(format!(
            "Condition {condition:?} is not modelled locally (only ForAllValues:StringLike on dynamodb:LeadingKeys)"
        ))
    };
    let operators = condition.as_mapping().ok_or_else(unmodelled)?;
    let (Some((operator, tests)), 1) = (operators.iter().next(), operators.len()) else {
        return Err(unmodelled());
    };
    let tests = tests.as_mapping().ok_or_else(unmodelled)?;
    let (Some((key, values)), 1) = (tests.iter().next(), tests.len()) else {
        return Err(unmodelled());
    };
    if operator.as_str() != Some("ForAllValues:StringLike")
        || key.as_str() != Some("dynamodb:LeadingKeys")
    {
        return Err(unmodelled());
    }
    match values {
        Value::Sequence(list) => list
            .iter()
            .map(|v| resolver.resolve(v, &BTreeMap::new()))
            .collect(),
        one => Ok(vec![resolver.resolve(one, &BTreeMap::new())?]),
    }
}

/// IAM's wildcards: `*` any run of characters, `?` any one character.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// One statement of a key policy, as far as PushGuard writes them: the account's root
/// as principal (which leaves the choice of role to IAM and the conditions), the role
/// ARNs it is narrowed to, and the encryption context it asks for.
#[derive(Clone, Debug)]
struct KeyStatement {
    effect: Effect,
    actions: Vec<String>,
    /// `ArnLike`/`StringLike` on `aws:PrincipalArn`: any of these (none: any role).
    principals: Vec<String>,
    /// `StringEquals` on `kms:EncryptionContext:<name>`: each of these.
    context: Vec<(String, String)>,
}

/// A KMS key's policy.
#[derive(Clone, Debug, Default)]
pub struct KeyPolicy {
    statements: Vec<KeyStatement>,
}

impl KeyPolicy {
    /// Reads `document` (a `KeyPolicy`); statements it cannot model are refused, not
    /// guessed.
    pub fn parse(document: &Value, resolver: &Resolver) -> Result<Self, TemplateError> {
        let root = format!("arn:{PARTITION}:iam::{ACCOUNT_ID}:root");
        let statements = match document.get("Statement") {
            Some(Value::Sequence(list)) => list.clone(),
            _ => return Err(err("a KeyPolicy's Statement must be a list")),
        };
        let resolve = |value: &Value| resolver.resolve(value, &BTreeMap::new());
        let strings = |value: Option<&Value>| -> Result<Vec<String>, TemplateError> {
            match value {
                Some(Value::Sequence(values)) => values.iter().map(resolve).collect(),
                Some(one) => Ok(vec![resolve(one)?]),
                None => Ok(Vec::new()),
            }
        };
        let mut policy = KeyPolicy::default();
        for statement in &statements {
            let effect = match statement.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                other => return Err(err(format!("Effect must be Allow or Deny, not {other:?}"))),
            };
            let principal = strings(statement.get("Principal").and_then(|p| p.get("AWS")))?;
            if principal != [root.clone()] {
                return Err(err(format!(
                    "a key policy's Principal must be {{AWS: <the account's root>}} locally, not {principal:?}"
                )));
            }
            let mut principals = Vec::new();
            let mut context = Vec::new();
            if let Some(conditions) = statement.get("Condition") {
                let conditions = conditions
                    .as_mapping()
                    .ok_or_else(|| err("a Condition must be a mapping"))?;
                for (operator, tests) in conditions {
                    let tests = tests
                        .as_mapping()
                        .ok_or_else(|| err("a Condition's tests must be a mapping"))?;
                    for (key, value) in tests {
                        let key = key.as_str().unwrap_or_default();
                        match (operator.as_str().unwrap_or_default(), key) {
                            ("ArnLike" | "StringLike", "aws:PrincipalArn") => {
                                principals.extend(strings(Some(value))?)
                            }
                            ("StringEquals", name)
                                if name.starts_with("kms:EncryptionContext:") =>
                            {
                                let name = name.trim_start_matches("kms:EncryptionContext:");
                                context.push((name.to_string(), resolve(value)?));
                            }
                            (operator, key) => {
                                return Err(err(format!(
                                    "{operator} on {key} is not modelled locally"
                                )));
                            }
                        }
                    }
                }
            }
            policy.statements.push(KeyStatement {
                effect,
                actions: strings(statement.get("Action"))?,
                principals,
                context,
            });
        }
        Ok(policy)
    }

    /// Whether the key policy lets the role `principal` do `action` with this
    /// encryption context.
    pub fn decide(
        &self,
        action: &str,
        principal: &str,
        context: &serde_json::Map<String, serde_json::Value>,
    ) -> Decision {
        let matching = || {
            self.statements.iter().filter(|s| {
                s.actions.iter().any(|pattern| {
                    wildcard_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
                }) && (s.principals.is_empty()
                    || s.principals.iter().any(|p| wildcard_match(p, principal)))
                    && s.context.iter().all(|(name, value)| {
                        context.get(name).and_then(serde_json::Value::as_str) == Some(value)
                    })
            })
        };
        if matching().any(|s| s.effect == Effect::Deny) {
            Decision::ExplicitDeny
        } else if matching().next().is_some() {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }
}

/// What IAM decides for one action on one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A statement denies it.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

/// Every statement of a role.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    statements: Vec<Statement>,
}

impl Policy {
    /// The role SAM makes for `function`: its `Policies`, the basic execution role, and
    /// the SQS execution role when a queue invokes it.
    pub fn for_function(
        function: &FunctionSpec,
        resolver: &Resolver,
    ) -> Result<Self, TemplateError> {
        let mut policy = Policy::default();
        policy.add_managed("AWSLambdaBasicExecutionRole")?;
        if !function.sqs_queues.is_empty() {
            policy.add_managed("AWSLambdaSQSQueueExecutionRole")?;
        }
        for entry in &function.policies {
            policy
                .add_entry(entry, resolver)
                .map_err(|e| err(format!("{}: Policies: {}", function.logical_id, e.0)))?;
        }
        Ok(policy)
    }

    /// What the role may do: `action` on `resource`, touching the partition keys
    /// `leading` (DynamoDB; empty elsewhere).
    pub fn decide(&self, action: &str, resource: &str, leading: &[String]) -> Decision {
        let matching = || {
            self.statements
                .iter()
                .filter(|s| s.matches(action, resource, leading))
        };
        if matching().any(|s| s.effect == Effect::Deny) {
            Decision::ExplicitDeny
        } else if matching().next().is_some() {
            Decision::Allow
        } else {
            Decision::ImplicitDeny
        }
    }

    fn add_entry(&mut self, entry: &Value, resolver: &Resolver) -> Result<(), TemplateError> {
        if let Some(name) = entry.as_str() {
            return self.add_managed(name);
        }
        let mapping = entry
            .as_mapping()
            .ok_or_else(|| err(format!("cannot read policy {entry:?}")))?;
        if mapping.contains_key("Statement") {
            return self.add_document(entry, resolver);
        }
        match mapping.iter().next() {
            Some((Value::String(name), parameters)) if mapping.len() == 1 => {
                self.add_sam_template(name, parameters, resolver)
            }
            _ => Err(err(format!("cannot read policy {entry:?}"))),
        }
    }

    fn add_document(&mut self, document: &Value, resolver: &Resolver) -> Result<(), TemplateError> {
        let statements = match document.get("Statement") {
            Some(Value::Sequence(list)) => list.clone(),
            Some(one @ Value::Mapping(_)) => vec![one.clone()],
            _ => return Err(err("Statement must be a list or a mapping")),
        };
        for statement in statements {
            for unsupported in ["NotAction", "NotResource", "Principal", "NotPrincipal"] {
                if statement.get(unsupported).is_some() {
                    return Err(err(format!(
                        "{unsupported} is not modelled locally; write the statement without it"
                    )));
                }
            }
            let effect = match statement.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                other => return Err(err(format!("Effect must be Allow or Deny, not {other:?}"))),
            };
            let list = |key: &str| -> Result<Vec<String>, TemplateError> {
                match statement.get(key) {
                    Some(Value::Sequence(values)) => values
                        .iter()
                        .map(|v| resolver.resolve(v, &BTreeMap::new()))
                        .collect(),
                    Some(one) => Ok(vec![resolver.resolve(one, &BTreeMap::new())?]),
                    None => Err(err(format!("a statement has no {key}"))),
                }
            };
            let leading_keys = match statement.get("Condition") {
                None => None,
                Some(condition) => Some(leading_keys(condition, resolver)?),
            };
            self.statements.push(Statement {
                effect,
                actions: list("Action")?,
                resources: list("Resource")?,
                leading_keys,
            });
        }
        Ok(())
    }

    /// The SAM policy templates PushGuard may use, expanded as SAM's policy_templates.json does.
    fn add_sam_template(
        &mut self,
        name: &str,
        parameters: &Value,
        resolver: &Resolver,
    ) -> Result<(), TemplateError> {
        let parameter = |key: &str| -> Result<String, TemplateError> {
            let value = parameters
                .get(key)
                .ok_or_else(|| err(format!("{name} needs {key}")))?;
            resolver.resolve(value, &BTreeMap::new())
        };
        let table = |name: &str| {
            vec![
                table_arn(name, None),
                format!("{}/index/*", table_arn(name, None)),
            ]
        };
        let statement = match name {
            "DynamoDBCrudPolicy" => Statement::allow(
                &[
                    "dynamodb:GetItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:PutItem",
                    "dynamodb:Scan",
                    "dynamodb:Query",
                    "dynamodb:UpdateItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:DescribeTable",
                    "dynamodb:ConditionCheckItem",
                ],
                table(&parameter("TableName")?),
            ),
            "DynamoDBReadPolicy" => Statement::allow(
                &[
                    "dynamodb:GetItem",
                    "dynamodb:Scan",
                    "dynamodb:Query",
                    "dynamodb:BatchGetItem",
                    "dynamodb:DescribeTable",
                ],
                table(&parameter("TableName")?),
            ),
            "DynamoDBWritePolicy" => Statement::allow(
                &[
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:BatchWriteItem",
                ],
                table(&parameter("TableName")?),
            ),
            "SQSSendMessagePolicy" => Statement::allow(
                &["sqs:SendMessage*"],
                vec![queue_arn(&parameter("QueueName")?)],
            ),
            "SQSPollerPolicy" => Statement::allow(
                &[
                    "sqs:ChangeMessageVisibility",
                    "sqs:ChangeMessageVisibilityBatch",
                    "sqs:DeleteMessage",
                    "sqs:DeleteMessageBatch",
                    "sqs:GetQueueAttributes",
                    "sqs:ReceiveMessage",
                ],
                vec![queue_arn(&parameter("QueueName")?)],
            ),
            "KMSDecryptPolicy" => {
                Statement::allow(&["kms:Decrypt"], vec![kms_arn(&parameter("KeyId")?)])
            }
            "KMSEncryptPolicy" => {
                Statement::allow(&["kms:Encrypt"], vec![kms_arn(&parameter("KeyId")?)])
            }
            other => {
                return Err(err(format!(
                    "the SAM policy template {other} is not modelled locally"
                )));
            }
        };
        self.statements.push(statement);
        Ok(())
    }

    /// The AWS managed policies SAM attaches (by name or ARN).
    fn add_managed(&mut self, name: &str) -> Result<(), TemplateError> {
        let logs = [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ];
        let statement = match name.rsplit('/').next().unwrap_or(name) {
            "AWSLambdaBasicExecutionRole" => Statement::allow(&logs, vec!["*".into()]),
            "AWSLambdaSQSQueueExecutionRole" => Statement::allow(
                &[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
                vec!["*".into()],
            ),
            "AWSXrayWriteOnlyAccess" | "AWSXRayDaemonWriteAccess" => Statement::allow(
                &[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                    "xray:GetSamplingStatisticSummaries",
                ],
                vec!["*".into()],
            ),
            other => {
                return Err(err(format!(
                    "the managed policy {other} is not modelled locally; write its statements inline"
                )));
            }
        };
        self.statements.push(statement);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> (Template, Provisioned) {
        let template = Template::parse(
            r#"
Parameters:
  Level: { Type: String, Default: info }
Resources:
  Things:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{ AttributeName: pk, AttributeType: S }]
      KeySchema: [{ AttributeName: pk, KeyType: HASH }]
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {}
  Worker:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: worker } }
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem, "dynamodb:Put*"]
              Resource: !GetAtt Things.Arn
            - Effect: Allow
              Action: dynamodb:Query
              Resource: !Sub "${Things.Arn}/index/by_owner"
            - Effect: Deny
              Action: dynamodb:PutItem
              Resource: !Sub "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/${Things}"
        - SQSSendMessagePolicy:
            QueueName: !GetAtt Jobs.QueueName
      Events:
        Work:
          Type: SQS
          Properties: { Queue: !GetAtt Jobs.Arn }
"#,
        )
        .unwrap();
        let mut provisioned = Provisioned::default();
        provisioned
            .tables
            .insert("Things".into(), "p-Things".into());
        provisioned.queues.insert(
            "Jobs".into(),
            (
                "http://127.0.0.1:1/123456789012/p-Jobs".into(),
                queue_arn("p-Jobs"),
            ),
        );
        (template, provisioned)
    }

    #[test]
    fn a_function_may_do_what_its_statements_allow_and_nothing_else() {
        let (template, provisioned) = stack();
        let function = &template.functions().unwrap()[0];
        assert_eq!(function.sqs_queues, vec!["Jobs".to_string()]);
        let policy = Policy::for_function(
            function,
            &Resolver {
                template: &template,
                provisioned: &provisioned,
            },
        )
        .unwrap();
        let table = table_arn("p-Things", None);
        assert_eq!(
            policy.decide("dynamodb:GetItem", &table, &[]),
            Decision::Allow
        );
        assert_eq!(
            policy.decide("DynamoDB:getitem", &table, &[]),
            Decision::Allow,
            "actions ignore case"
        );
        assert_eq!(
            policy.decide("dynamodb:UpdateItem", &table, &[]),
            Decision::ImplicitDeny
        );
        assert_eq!(
            policy.decide("dynamodb:PutItem", &table, &[]),
            Decision::ExplicitDeny,
            "a deny wins"
        );
        assert_eq!(
            policy.decide("dynamodb:GetItem", &table_arn("p-Other", None), &[]),
            Decision::ImplicitDeny
        );
        assert_eq!(
            policy.decide("dynamodb:Query", &table, &[]),
            Decision::ImplicitDeny,
            "a query on the table is not one on its index"
        );
        assert_eq!(
            policy.decide(
                "dynamodb:Query",
                &table_arn("p-Things", Some("by_owner")),
                &[]
            ),
            Decision::Allow
        );
        assert_eq!(
            policy.decide("sqs:SendMessage", &queue_arn("p-Jobs"), &[]),
            Decision::Allow
        );
        assert_eq!(
            policy.decide("sqs:ReceiveMessage", &queue_arn("p-Jobs"), &[]),
            Decision::Allow,
            "the SQS event source's role"
        );
        assert_eq!(
            policy.decide("sqs:PurgeQueue", &queue_arn("p-Jobs"), &[]),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn unmodelled_policies_are_refused_rather_than_guessed() {
        let (template, provisioned) = stack();
        let resolver = Resolver {
            template: &template,
            provisioned: &provisioned,
        };
        let mut policy = Policy::default();
        assert!(policy.add_managed("AdministratorAccess").is_err());
        let condition: Value = serde_yaml::from_str(
            "{ Statement: [{ Effect: Allow, Action: '*', Resource: '*', Condition: {} }] }",
        )
        .unwrap();
        assert!(policy.add_entry(&condition, &resolver).is_err());
        let unknown: Value = serde_yaml::from_str("{ S3CrudPolicy: { BucketName: b } }").unwrap();
        assert!(policy.add_entry(&unknown, &resolver).is_err());
    }

    #[test]
    fn wildcards_match_as_iam_matches_them() {
        assert!(wildcard_match("dynamodb:*", "dynamodb:GetItem"));
        assert!(wildcard_match(
            "arn:aws:sqs:*:*:p-*",
            "arn:aws:sqs:us-east-1:1:p-Jobs"
        ));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "abbc"));
        assert!(wildcard_match("*", ""));
        assert!(!wildcard_match("table/x", "table/x/index/y"));
        assert!(wildcard_match("table/x*", "table/x/index/y"));
    }

    #[test]
    fn a_leading_keys_condition_allows_only_items_whose_partition_keys_match() {
        let (template, provisioned) = stack();
        let resolver = Resolver {
            template: &template,
            provisioned: &provisioned,
        };
        let mut policy = Policy::default();
        let document: Value = serde_yaml::from_str(
            r#"
Statement:
  - Effect: Allow
    Action: [dynamodb:GetItem, dynamodb:UpdateItem]
    Resource: "*"
    Condition:
      ForAllValues:StringLike:
        dynamodb:LeadingKeys: ["rate#*", "sig#*"]
"#,
        )
        .unwrap();
        policy.add_document(&document, &resolver).unwrap();
        let table = table_arn("p-Things", None);
        let keys = |k: &[&str]| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let decide = |k: &[&str]| policy.decide("dynamodb:UpdateItem", &table, &keys(k));
        assert_eq!(decide(&["rate#api#t"]), Decision::Allow);
        assert_eq!(decide(&["rate#a", "sig#b"]), Decision::Allow);
        assert_eq!(decide(&["portal#ps_1"]), Decision::ImplicitDeny);
        assert_eq!(
            decide(&["rate#a", "idem#b"]),
            Decision::ImplicitDeny,
            "all must match"
        );
        for unmodelled in [
            "{ StringEquals: { aws:SourceIp: 1.2.3.4 } }",
            "{ ForAllValues:StringLike: { dynamodb:Attributes: [a] } }",
            "{}",
        ] {
            let document: Value = serde_yaml::from_str(&format!(
                "Statement: [{{ Effect: Allow, Action: '*', Resource: '*', Condition: {unmodelled} }}]"
            ))
            .unwrap();
            assert!(
                Policy::default()
                    .add_document(&document, &resolver)
                    .is_err(),
                "{unmodelled}"
            );
        }
    }

    #[test]
    fn the_secrets_key_lets_only_the_roles_and_the_context_its_policy_names() {
        let template = Template::parse(crate::template::BUNDLED).unwrap();
        let mut provisioned = Provisioned::default();
        provisioned
            .keys
            .insert("SecretsKey".into(), ("k-1".into(), kms_arn("k-1")));
        let resolver = Resolver {
            template: &template,
            provisioned: &provisioned,
        };
        let (_, document) = template
            .key_policies()
            .into_iter()
            .find(|(id, _)| id == "SecretsKey")
            .expect("the secrets key has a policy");
        let policy = KeyPolicy::parse(&document, &resolver).unwrap();
        let role = |name: &str| {
            let function = template
                .functions()
                .unwrap()
                .into_iter()
                .find(|f| f.logical_id == name)
                .unwrap();
            role_arn(&function, &resolver).unwrap()
        };
        let context = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
                .collect::<serde_json::Map<_, _>>()
        };
        let secrets = context(&[
            ("purpose", "pushguard-webhook-signing-secrets"),
            ("account", "acct_1"),
        ]);
        for sealer in [
            "AccountFunction",
            "WebhookEndpointsFunction",
            "PortalFunction",
        ] {
            for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
                assert_eq!(
                    policy.decide(action, &role(sealer), &secrets),
                    Decision::Allow,
                    "{sealer} {action}"
                );
            }
        }
        for signer in ["DispatcherFunction", "WebhookLogsFunction"] {
            assert_eq!(
                policy.decide("kms:Decrypt", &role(signer), &secrets),
                Decision::Allow
            );
            assert_ne!(
                policy.decide("kms:GenerateDataKey", &role(signer), &secrets),
                Decision::Allow,
                "{signer} only opens"
            );
        }
        let request_signing = context(&[
            ("purpose", "pushguard-request-signing-secrets"),
            ("account", "acct_1"),
        ]);
        for authenticating in ["ProductsFunction", "PaymentsFunction", "AccountFunction"] {
            assert_eq!(
                policy.decide("kms:Decrypt", &role(authenticating), &request_signing),
                Decision::Allow,
                "{authenticating} opens request-signing secrets"
            );
        }
        assert_ne!(
            policy.decide(
                "kms:GenerateDataKey",
                &role("ProductsFunction"),
                &request_signing
            ),
            Decision::Allow,
            "only the key makers seal them"
        );
        for other in ["ProductsFunction", "PaymentsFunction", "SchedulerFunction"] {
            assert_ne!(
                policy.decide("kms:Decrypt", &role(other), &secrets),
                Decision::Allow,
                "{other}"
            );
        }
        let admin = format!("arn:{PARTITION}:iam::{ACCOUNT_ID}:role/Admin");
        assert_ne!(
            policy.decide("kms:Decrypt", &admin, &secrets),
            Decision::Allow,
            "IAM alone"
        );
        assert_eq!(
            policy.decide("kms:DescribeKey", &admin, &secrets),
            Decision::Allow
        );
        let elsewhere = context(&[("purpose", "something-else")]);
        assert_ne!(
            policy.decide("kms:Decrypt", &role("DispatcherFunction"), &elsewhere),
            Decision::Allow,
            "another purpose"
        );
    }
}
