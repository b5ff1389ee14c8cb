//! The client libraries' operation tables, generated from the OpenAPI document: every
//! operation of PushGuard's own API (`/api/v2/...`) as a resource and a method name,
//! the way each library exposes it (`PushGuard::Webhooks::Endpoints.list` in Ruby,
//! `client.webhooks.endpoints.list()` in Python). `pushguard clients` writes them
//! (`make clients`); a test fails when one differs from what the document says, so a
//! library can neither miss an operation nor call one the document lacks.
//!
//! Left out, on purpose: the public pages (`/pay`, `/portal`, `/media`: a browser's,
//! not a client's) and the other seeds' dialects (Conekta, Paybyrd, Pixlpay, Key/Sign),
//! whose merchants keep the clients they have.

use serde_json::Value;
use std::fmt::Write;

/// The dialects' tags: their merchants use the clients they already have.
const DIALECTS: [&str; 4] = ["conekta", "paybyrd", "pixlpay", "keysign"];

/// Actions on a whole collection, named by their last segment (`POST .../rotate`).
const COLLECTION_ACTIONS: [&str; 2] = ["rotate", "simulate"];

/// One operation as the libraries call it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The document's `operationId`.
    pub id: String,
    /// The resource's path of names, as the URL spells them: `["webhooks", "endpoints"]`.
    pub resource: Vec<String>,
    /// `list`, `retrieve`, `create`, `update`, `destroy`, `destroy_all`, or an action
    /// (`enable`, `rotate_secret`, ...).
    pub name: String,
    /// `GET`, `POST`, `PUT` or `DELETE`.
    pub method: String,
    /// `/api/v2/webhooks/endpoints/{id}`.
    pub path: String,
    /// The path's parameters, in order.
    pub params: Vec<String>,
    /// Whether it takes a JSON body.
    pub body: bool,
    /// Whether it answers a list (paged by `page`/`per_page`).
    pub list: bool,
    /// Whether its list also pages by cursor (`starting_after`, `ending_before`).
    pub cursors: bool,
    /// The schema it answers with (`Product`), if the document names one.
    pub returns: Option<String>,
    /// The schema its body is (`NewProductInput`), if the document names one.
    pub takes: Option<String>,
    pub summary: String,
}

/// Every operation of PushGuard's own API in `document`, in the document's order.
pub fn operations(document: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        let Some(rest) = path.strip_prefix("/api/v2/") else {
            continue;
        };
        for method in ["get", "post", "put", "delete"] {
            let operation = &item[method];
            if !operation.is_object() || is_dialect(operation) {
                continue;
            }
            found.push(operation_of(path, rest, method, operation));
        }
    }
    found
}

fn is_dialect(operation: &Value) -> bool {
    operation["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|tag| tag.as_str().is_some_and(|tag| DIALECTS.contains(&tag)))
}

fn operation_of(path: &str, rest: &str, method: &str, operation: &Value) -> Operation {
    let segments: Vec<&str> = rest
        .split('/')
        .map(|s| s.trim_end_matches(".json"))
        .collect();
    let params: Vec<String> = segments
        .iter()
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .map(str::to_string)
        .collect();
    let first_param = segments.iter().position(|s| s.starts_with('{'));
    let answer = answer_schema(operation);
    let list = answer.as_ref().is_some_and(|(_, list)| *list);
    let (resource, name): (&[&str], String) = match first_param {
        Some(at) => {
            let action = segments[at + 1..].join("_").replace('-', "_");
            let name = match (method, action.is_empty()) {
                ("get", true) => "retrieve".to_string(),
                ("put", true) => "update".to_string(),
                ("delete", true) => "destroy".to_string(),
                _ => action,
            };
            (&segments[..at], name)
        }
        None => match segments.split_last() {
            Some((last, before)) if COLLECTION_ACTIONS.contains(last) => (before, last.to_string()),
            _ => {
                let name = match method {
                    "get" if list => "list",
                    "get" => "retrieve",
                    "post" => "create",
                    "put" => "update",
                    _ => "destroy_all",
                };
                (&segments[..], name.to_string())
            }
        },
    };
    let query: Vec<&str> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str())
        .collect();
    Operation {
        id: operation["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        resource: resource.iter().map(|s| s.to_string()).collect(),
        name,
        method: method.to_uppercase(),
        path: path.to_string(),
        params,
        body: operation["requestBody"].is_object(),
        list,
        cursors: list && query.contains(&"starting_after"),
        returns: answer.map(|(schema, _)| schema),
        takes: schema_name(&operation["requestBody"]["content"]["application/json"]["schema"]),
        summary: operation["summary"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// The schema a successful answer carries, and whether it is a list of it.
fn answer_schema(operation: &Value) -> Option<(String, bool)> {
    let responses = operation["responses"].as_object()?;
    let success = ["200", "201", "202"]
        .iter()
        .find_map(|status| responses.get(*status))?;
    let schema = &success["content"]["application/json"]["schema"];
    match schema["type"].as_str() {
        Some("array") => Some((schema_name(&schema["items"]).unwrap_or_default(), true)),
        _ => schema_name(schema).map(|name| (name, false)),
    }
}

fn schema_name(schema: &Value) -> Option<String> {
    schema["$ref"]
        .as_str()?
        .strip_prefix("#/components/schemas/")
        .map(str::to_string)
}

/// `blacklist-rules` as a Ruby constant (`BlacklistRules`).
pub fn camel(segment: &str) -> String {
    segment
        .split(['-', '_'])
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect()
}

/// `blacklist-rules` as a Python attribute (`blacklist_rules`).
pub fn snake(segment: &str) -> String {
    segment.replace('-', "_")
}

/// One line per operation, as `row` writes it from the operation and its path
/// parameters quoted.
fn table(
    out: &mut String,
    operations: &[Operation],
    row: impl Fn(&Operation, &[String]) -> String,
) {
    for op in operations {
        let params: Vec<String> = op.params.iter().map(|p| quoted(p)).collect();
        out.push_str(&row(op, &params));
        out.push('\n');
    }
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

const GENERATED: &str =
    "Generated by `pushguard clients` (make clients) from openapi.json: do not edit.";

/// The Ruby gem's table (`clients/ruby/lib/pushguard/operations.rb`).
pub fn ruby(operations: &[Operation]) -> String {
    let mut out = format!(
        "# {GENERATED}\n\nmodule PushGuard\n  # Every operation of the API: the resource's constants, the method, the route.\n  OPERATIONS = [\n"
    );
    for op in operations {
        let resource: Vec<String> = op.resource.iter().map(|s| camel(s)).collect();
        let params: Vec<String> = op.params.iter().map(|p| format!(":{p}")).collect();
        let _ = writeln!(
            out,
            "    {{ id: {}, resource: %w[{}], name: :{}, method: :{}, path: {}, params: [{}], body: {}, list: {}, cursors: {}, summary: {} }},",
            quoted(&op.id),
            resource.join(" "),
            op.name,
            op.method.to_lowercase(),
            quoted(&op.path),
            params.join(", "),
            op.body,
            op.list,
            op.cursors,
            quoted(&op.summary),
        );
    }
    out.push_str("  ].freeze\nend\n");
    out
}

/// A resource and what is below it, for the libraries that spell the tree out.
struct Node<'a> {
    path: Vec<String>,
    operations: Vec<&'a Operation>,
    children: Vec<Node<'a>>,
}

/// The resources as a tree (`webhooks` holds `endpoints`), in the operations' order.
fn tree(operations: &[Operation]) -> Node<'_> {
    fn insert<'a>(node: &mut Node<'a>, rest: &[String], op: &'a Operation) {
        match rest.split_first() {
            None => node.operations.push(op),
            Some((first, rest)) => {
                let at = match node
                    .children
                    .iter()
                    .position(|c| c.path.last() == Some(first))
                {
                    Some(at) => at,
                    None => {
                        let mut path = node.path.clone();
                        path.push(first.clone());
                        node.children.push(Node {
                            path,
                            operations: Vec::new(),
                            children: Vec::new(),
                        });
                        node.children.len() - 1
                    }
                };
                insert(&mut node.children[at], rest, op);
            }
        }
    }
    let mut root = Node {
        path: Vec::new(),
        operations: Vec::new(),
        children: Vec::new(),
    };
    for op in operations {
        insert(&mut root, &op.resource, op);
    }
    root
}

impl Node<'_> {
    /// What its generated class says it is.
    fn title(&self) -> String {
        if self.path.is_empty() {
            "Every resource of the API.".to_string()
        } else {
            format!("`{}`.", self.path.join("/"))
        }
    }
}

/// A resource's class in a library: `root` for the tree's root, else its path's names
/// joined (`WebhooksEndpoints`) between `prefix` and `suffix`.
fn class_name(path: &[String], root: &str, prefix: &str, suffix: &str) -> String {
    if path.is_empty() {
        root.to_string()
    } else {
        format!(
            "{prefix}{}{suffix}",
            path.iter().map(|s| camel(s)).collect::<String>()
        )
    }
}

/// The component schemas the operations answer with or take, and those they name.
fn schemas_used<'a>(document: &'a Value, operations: &[Operation]) -> Vec<(&'a str, &'a Value)> {
    let all = document["components"]["schemas"].as_object();
    let mut wanted: Vec<String> = operations
        .iter()
        .flat_map(|op| op.returns.iter().chain(op.takes.iter()))
        .cloned()
        .collect();
    let mut found: Vec<(&str, &Value)> = Vec::new();
    while let Some(name) = wanted.pop() {
        if found.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let Some((key, schema)) = all.and_then(|all| all.get_key_value(&name)) else {
            continue;
        };
        collect_refs(schema, &mut wanted);
        found.push((key.as_str(), schema));
    }
    found.sort_by_key(|(name, _)| *name);
    found
}

fn collect_refs(schema: &Value, into: &mut Vec<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(name) = schema_name(schema) {
                into.push(name);
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// What a schema is, in any language's terms.
enum Shape<'a> {
    /// A component schema, by name.
    Named(String),
    /// One of these (`oneOf`, `anyOf`).
    OneOf(&'a [Value]),
    /// JSON types (`"null"` among them when it may be null); none when it says nothing.
    Types(Vec<&'a str>),
}

fn shape(schema: &Value) -> Shape<'_> {
    if let Some(name) = schema_name(schema) {
        return Shape::Named(name);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            return Shape::OneOf(options);
        }
    }
    if let Some(all) = schema["allOf"].as_array().and_then(|all| all.first()) {
        return shape(all);
    }
    Shape::Types(match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    })
}

/// The values of a string enum, quoted.
fn enum_values(schema: &Value) -> Option<Vec<String>> {
    let values = schema["enum"].as_array()?;
    Some(
        values
            .iter()
            .filter_map(Value::as_str)
            .map(quoted)
            .collect(),
    )
}

/// A JSON schema as a Python annotation.
fn python_type(schema: &Value) -> String {
    let kinds = match shape(schema) {
        Shape::Named(name) => return format!("\"{name}\""),
        Shape::OneOf(options) => {
            let mut types: Vec<String> = options.iter().map(python_type).collect();
            types.dedup();
            return union_python(types);
        }
        Shape::Types(kinds) => kinds,
    };
    let types: Vec<String> = kinds
        .iter()
        .map(|kind| match *kind {
            "string" => enum_values(schema).map_or("str".to_string(), |values| {
                format!("Literal[{}]", values.join(", "))
            }),
            "integer" => "int".to_string(),
            "number" => "float".to_string(),
            "boolean" => "bool".to_string(),
            "null" => "None".to_string(),
            "array" => format!("List[{}]", python_type(&schema["items"])),
            _ => "Dict[str, Any]".to_string(),
        })
        .collect();
    if types.is_empty() {
        "Any".to_string()
    } else {
        union_python(types)
    }
}

fn union_python(types: Vec<String>) -> String {
    let nullable = types.iter().any(|t| t == "None");
    let rest: Vec<String> = types.into_iter().filter(|t| t != "None").collect();
    let inner = match rest.len() {
        0 => "None".to_string(),
        1 => rest[0].clone(),
        _ => format!("Union[{}]", rest.join(", ")),
    };
    if nullable && !rest.is_empty() {
        format!("Optional[{inner}]")
    } else {
        inner
    }
}

/// The Python package's resources and models (`clients/python/pushguard/_generated.py`).
pub fn python(document: &Value, operations: &[Operation]) -> String {
    let mut out = format!(
        "# {GENERATED}\n\"\"\"The API's operations as resources and methods, and its objects as typed\ndictionaries.\"\"\"\n\nfrom typing import Any, Dict, List, Literal, Optional, TypedDict, Union\n\nfrom ._resource import Page, Resource\n\n"
    );
    out.push_str("# Every operation: (method, path, path parameters, takes a body, answers a list).\nOPERATIONS = {\n");
    let python_bool = |value: bool| if value { "True" } else { "False" };
    table(&mut out, operations, |op, params| {
        format!(
            "    {}: ({}, {}, ({}), {}, {}),",
            quoted(&op.id),
            quoted(&op.method),
            quoted(&op.path),
            params.iter().map(|p| format!("{p},")).collect::<String>(),
            python_bool(op.body),
            python_bool(op.list),
        )
    });
    out.push_str("}\n\n");
    // Objects first (their fields name others in quotes, resolved later), then the
    // aliases, each after what it names.
    let mut defined: Vec<&str> = Vec::new();
    let mut aliases: Vec<(&str, String)> = Vec::new();
    for (name, schema) in schemas_used(document, operations) {
        let Some(properties) = schema["properties"].as_object() else {
            aliases.push((name, python_type(schema)));
            continue;
        };
        let fields: Vec<String> = properties
            .iter()
            .map(|(field, schema)| format!("        {}: {},", quoted(field), python_type(schema)))
            .collect();
        let _ = writeln!(
            out,
            "{name} = TypedDict(\n    {},\n    {{\n{}\n    }},\n    total=False,\n)\n",
            quoted(name),
            fields.join("\n"),
        );
        defined.push(name);
    }
    while !aliases.is_empty() {
        let ready = aliases
            .iter()
            .position(|(_, kind)| {
                !kind.starts_with('"') || defined.contains(&kind.trim_matches('"'))
            })
            .unwrap_or(0);
        let (name, kind) = aliases.remove(ready);
        let _ = writeln!(out, "{name} = {}\n", kind.trim_matches('"'));
        defined.push(name);
    }
    python_node(&tree(operations), &mut out);
    out
}

fn python_class(path: &[String]) -> String {
    class_name(path, "Resources", "_", "")
}

fn python_node(node: &Node<'_>, out: &mut String) {
    for child in &node.children {
        python_node(child, out);
    }
    let class = python_class(&node.path);
    let title = node.title();
    let _ = writeln!(out, "\nclass {class}(Resource):\n    \"\"\"{title}\"\"\"\n");
    if !node.children.is_empty() {
        out.push_str(
            "    def __init__(self, client: Any) -> None:\n        super().__init__(client)\n",
        );
        for child in &node.children {
            let _ = writeln!(
                out,
                "        self.{} = {}(client)",
                snake(child.path.last().expect("a child has a name")),
                python_class(&child.path)
            );
        }
        out.push('\n');
    }
    for op in &node.operations {
        let args: String = op.params.iter().map(|p| format!(", {p}: str")).collect();
        let ids = format!(
            "({})",
            op.params
                .iter()
                .map(|p| format!("{p},"))
                .collect::<String>()
        );
        let answer = op.returns.clone().unwrap_or_else(|| "Any".to_string());
        let (returns, call) = if op.list {
            (format!("\"Page[{answer}]\""), "_list")
        } else if op.returns.is_some() {
            (format!("\"{answer}\""), "_call")
        } else {
            ("Any".to_string(), "_call")
        };
        let _ = writeln!(
            out,
            "    def {}(self{args}, **params: Any) -> {returns}:\n        \"\"\"{} (`{} {}`).\"\"\"\n        return self.{call}({}, {ids}, params)\n",
            op.name,
            op.summary,
            op.method,
            op.path,
            quoted(&op.id),
        );
    }
}

/// A JSON schema as a TypeScript type.
fn typescript_type(schema: &Value) -> String {
    let kinds = match shape(schema) {
        Shape::Named(name) => return name,
        Shape::OneOf(options) => {
            let mut types: Vec<String> = options.iter().map(typescript_type).collect();
            types.dedup();
            return types.join(" | ");
        }
        Shape::Types(kinds) => kinds,
    };
    let types: Vec<String> = kinds
        .iter()
        .map(|kind| match *kind {
            "string" => {
                enum_values(schema).map_or("string".to_string(), |values| values.join(" | "))
            }
            "integer" | "number" => "number".to_string(),
            "boolean" => "boolean".to_string(),
            "null" => "null".to_string(),
            "array" => {
                let items = typescript_type(&schema["items"]);
                if items.contains(' ') {
                    format!("Array<{items}>")
                } else {
                    format!("{items}[]")
                }
            }
            _ => match &schema["additionalProperties"] {
                Value::Object(_) => format!(
                    "Record<string, {}>",
                    typescript_type(&schema["additionalProperties"])
                ),
                _ => "Record<string, unknown>".to_string(),
            },
        })
        .collect();
    if types.is_empty() {
        "unknown".to_string()
    } else {
        types.join(" | ")
    }
}

/// `rotate_secret` as a TypeScript member (`rotateSecret`).
fn lower_camel(name: &str) -> String {
    let camel = camel(name);
    let mut chars = camel.chars();
    chars.next().map_or(String::new(), |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// A property name as TypeScript writes it: bare when it can be.
fn typescript_key(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if bare { name.to_string() } else { quoted(name) }
}

/// The TypeScript package's resources and models (`clients/typescript/src/generated.ts`).
pub fn typescript(document: &Value, operations: &[Operation]) -> String {
    let mut out = format!(
        "// {GENERATED}\n// The API's operations as resources and methods, and its objects as interfaces.\n\nimport {{ Page, Resource, type Params, type Transport }} from \"./core.js\";\n\n"
    );
    out.push_str("/** Every operation: method, path, path parameters, takes a body, answers a list. */\nexport const OPERATIONS = {\n");
    table(&mut out, operations, |op, params| {
        format!(
            "  {}: {{ method: {}, path: {}, params: [{}], body: {}, list: {} }},",
            quoted(&op.id),
            quoted(&op.method),
            quoted(&op.path),
            params.join(", "),
            op.body,
            op.list,
        )
    });
    out.push_str("} as const;\n\nexport type OperationId = keyof typeof OPERATIONS;\n\n");
    for (name, schema) in schemas_used(document, operations) {
        let description = schema["description"].as_str().unwrap_or_default();
        if !description.is_empty() {
            let _ = writeln!(
                out,
                "/** {} */",
                description.replace("*/", "* /").replace('\n', " ")
            );
        }
        match schema["properties"].as_object() {
            Some(properties) => {
                let required: Vec<&str> = schema["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let _ = writeln!(out, "export interface {name} {{");
                for (field, schema) in properties {
                    let optional = if required.contains(&field.as_str()) {
                        ""
                    } else {
                        "?"
                    };
                    let _ = writeln!(
                        out,
                        "  {}{optional}: {};",
                        typescript_key(field),
                        typescript_type(schema)
                    );
                }
                out.push_str("}\n\n");
            }
            None => {
                let _ = writeln!(out, "export type {name} = {};\n", typescript_type(schema));
            }
        }
    }
    typescript_node(&tree(operations), &mut out);
    out
}

fn typescript_class(path: &[String]) -> String {
    class_name(path, "Resources", "", "Api")
}

fn typescript_node(node: &Node<'_>, out: &mut String) {
    for child in &node.children {
        typescript_node(child, out);
    }
    let class = typescript_class(&node.path);
    let title = node.title();
    let _ = writeln!(
        out,
        "/** {title} */\nexport class {class} extends Resource {{"
    );
    for child in &node.children {
        let _ = writeln!(
            out,
            "  readonly {}: {};",
            lower_camel(child.path.last().expect("a child has a name")),
            typescript_class(&child.path)
        );
    }
    if !node.children.is_empty() {
        out.push_str("\n  constructor(transport: Transport) {\n    super(transport);\n");
        for child in &node.children {
            let _ = writeln!(
                out,
                "    this.{} = new {}(transport);",
                lower_camel(child.path.last().expect("a child has a name")),
                typescript_class(&child.path)
            );
        }
        out.push_str("  }\n");
    }
    for op in &node.operations {
        let ids: Vec<String> = op
            .params
            .iter()
            .map(|p| format!("{}: string", lower_camel(p)))
            .collect();
        let id_values: Vec<String> = op.params.iter().map(|p| lower_camel(p)).collect();
        let body = match (&op.takes, op.body) {
            (Some(takes), true) if op.name == "create" => format!("params: {takes}"),
            (Some(takes), true) => format!("params: Partial<{takes}> = {{}}"),
            _ => "params: Params = {}".to_string(),
        };
        let args = ids
            .iter()
            .cloned()
            .chain(std::iter::once(body))
            .collect::<Vec<_>>()
            .join(", ");
        let answer = op.returns.clone().unwrap_or_else(|| "unknown".to_string());
        let (returns, call) = if op.list {
            (format!("Page<{answer}>"), "listOf")
        } else {
            (answer, "callOf")
        };
        let _ = writeln!(
            out,
            "\n  /** {} (`{} {}`). */\n  {}({args}): Promise<{returns}> {{\n    return this.{call}({}, [{}], params);\n  }}",
            op.summary.replace("*/", "* /"),
            op.method,
            op.path,
            lower_camel(&op.name),
            quoted(&op.id),
            id_values.join(", "),
        );
    }
    out.push_str("}\n\n");
}

/// Rust's reserved words, which a field takes raw (`r#type`).
const RUST_KEYWORDS: [&str; 12] = [
    "type", "ref", "match", "move", "loop", "self", "struct", "enum", "fn", "mod", "use", "where",
];

/// A JSON schema as a Rust type, and whether null is one of its values.
fn rust_type(schema: &Value) -> (String, bool) {
    let kinds = match shape(schema) {
        Shape::Named(name) => return (name, false),
        Shape::OneOf(options) => {
            let nullable = options.iter().any(|o| o["type"] == "null");
            let rest: Vec<&Value> = options.iter().filter(|o| o["type"] != "null").collect();
            return match rest.as_slice() {
                [one] => (rust_type(one).0, nullable),
                _ => ("serde_json::Value".to_string(), nullable),
            };
        }
        Shape::Types(kinds) => kinds,
    };
    let nullable = kinds.contains(&"null");
    let rest: Vec<&str> = kinds.into_iter().filter(|k| *k != "null").collect();
    let kind = match rest.as_slice() {
        ["string"] => "String".to_string(),
        ["integer"] => "i64".to_string(),
        ["number"] => "f64".to_string(),
        ["boolean"] => "bool".to_string(),
        ["array"] => format!("Vec<{}>", rust_type(&schema["items"]).0),
        ["object"] => match &schema["additionalProperties"] {
            Value::Object(_) => format!(
                "std::collections::BTreeMap<String, {}>",
                rust_type(&schema["additionalProperties"]).0
            ),
            _ => "serde_json::Map<String, serde_json::Value>".to_string(),
        },
        _ => "serde_json::Value".to_string(),
    };
    (kind, nullable)
}

/// The Rust crate's resources and models (`clients/rust/src/generated.rs`).
pub fn rust(document: &Value, operations: &[Operation]) -> String {
    let mut out = format!(
        "// {GENERATED}\n//! The API's operations as resources and methods, and its objects as types.\n\n#![allow(clippy::all)]\n\nuse crate::{{Client, Error, Page}};\nuse serde::Serialize;\n\n"
    );
    out.push_str("/// Every operation: (id, method, path, path parameters, takes a body, answers a list).\npub const OPERATIONS: &[(&str, &str, &str, &[&str], bool, bool)] = &[\n");
    table(&mut out, operations, |op, params| {
        format!(
            "    ({}, {}, {}, &[{}], {}, {}),",
            quoted(&op.id),
            quoted(&op.method),
            quoted(&op.path),
            params.join(", "),
            op.body,
            op.list,
        )
    });
    out.push_str("];\n\n/// The API's objects.\npub mod models {\n    use serde::{Deserialize, Serialize};\n\n");
    for (name, schema) in schemas_used(document, operations) {
        let description = schema["description"].as_str().unwrap_or_default();
        if !description.is_empty() {
            for line in description.lines() {
                let _ = writeln!(out, "    /// {line}");
            }
        }
        let Some(properties) = schema["properties"].as_object() else {
            let (kind, nullable) = rust_type(schema);
            let kind = if nullable {
                format!("Option<{kind}>")
            } else {
                kind
            };
            let _ = writeln!(out, "    pub type {name} = {kind};\n");
            continue;
        };
        let required: Vec<&str> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let _ = writeln!(
            out,
            "    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]\n    pub struct {name} {{"
        );
        for (field, schema) in properties {
            let (kind, nullable) = rust_type(schema);
            let optional = nullable || !required.contains(&field.as_str());
            let ident = if RUST_KEYWORDS.contains(&field.as_str()) {
                format!("r#{field}")
            } else {
                field.clone()
            };
            if let Some(text) = schema["description"].as_str() {
                for line in text.lines() {
                    let _ = writeln!(out, "        /// {line}");
                }
            }
            if optional {
                let _ = writeln!(
                    out,
                    "        #[serde(default, skip_serializing_if = \"Option::is_none\")]\n        pub {ident}: Option<{kind}>,"
                );
            } else {
                let _ = writeln!(out, "        pub {ident}: {kind},");
            }
        }
        out.push_str("        /// Fields this version of the crate does not know.\n        #[serde(flatten)]\n        pub extra: serde_json::Map<String, serde_json::Value>,\n    }\n\n");
    }
    out.push_str("}\n\n");
    rust_node(&tree(operations), &mut out);
    out
}

fn rust_struct(path: &[String]) -> String {
    class_name(path, "Client", "", "Api")
}

fn rust_node(node: &Node<'_>, out: &mut String) {
    for child in &node.children {
        rust_node(child, out);
    }
    let name = rust_struct(&node.path);
    let title = node.title();
    if !node.path.is_empty() {
        let _ = writeln!(
            out,
            "/// {title}\n#[derive(Clone, Copy)]\npub struct {name}<'a>(pub(crate) &'a Client);\n"
        );
    }
    let lifetime = if node.path.is_empty() { "" } else { "<'_>" };
    let _ = writeln!(out, "impl {name}{lifetime} {{");
    let client = if node.path.is_empty() {
        "self"
    } else {
        "self.0"
    };
    for child in &node.children {
        let _ = writeln!(
            out,
            "    pub fn {}(&self) -> {}<'_> {{\n        {}({client})\n    }}\n",
            snake(child.path.last().expect("a child has a name")),
            rust_struct(&child.path),
            rust_struct(&child.path),
        );
    }
    for op in &node.operations {
        let ids: String = op.params.iter().map(|p| format!("{p}: &str, ")).collect();
        let id_values = op.params.join(", ");
        let answer = op
            .returns
            .as_ref()
            .map_or("serde_json::Value".to_string(), |name| {
                format!("models::{name}")
            });
        let (returns, call) = if op.list {
            (format!("Page<{answer}>"), "list")
        } else {
            (answer, "call")
        };
        let method = if RUST_KEYWORDS.contains(&op.name.as_str()) {
            format!("r#{}", op.name)
        } else {
            op.name.clone()
        };
        let _ = writeln!(
            out,
            "    /// {} (`{} {}`).\n    pub async fn {method}(&self, {ids}params: &impl Serialize) -> Result<{returns}, Error> {{\n        {client}.{call}({}, &[{id_values}], params).await\n    }}\n",
            op.summary,
            op.method,
            op.path,
            quoted(&op.id),
        );
    }
    out.push_str("}\n\n");
}

/// Where each library's generated table lives, and what it holds.
pub fn files(document: &Value) -> Vec<(&'static str, String)> {
    let operations = operations(document);
    vec![
        (
            "clients/ruby/lib/pushguard/operations.rb",
            ruby(&operations),
        ),
        (
            "clients/python/pushguard/_generated.py",
            python(document, &operations),
        ),
        (
            "clients/typescript/src/generated.ts",
            typescript(document, &operations),
        ),
        ("clients/rust/src/generated.rs", rust(document, &operations)),
    ]
}

/// The document as the CLI builds it.
pub fn document() -> Value {
    serde_json::from_str(&crate::openapi::json()).expect("the document is JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_id<'a>(operations: &'a [Operation], id: &str) -> &'a Operation {
        operations
            .iter()
            .find(|op| op.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    }

    #[test]
    fn every_api_operation_is_a_resource_and_a_method_as_the_seed_names_them() {
        let operations = operations(&document());
        let named = |id: &str| {
            let op = by_id(&operations, id);
            (op.resource.join("/"), op.name.clone())
        };
        for (id, resource, name) in [
            ("getOrders", "orders", "list"),
            ("getOrdersById", "orders", "retrieve"),
            ("postProducts", "products", "create"),
            ("putProductsById", "products", "update"),
            ("deleteProductsById", "products", "destroy"),
            ("getWebhooksEndpoints", "webhooks/endpoints", "list"),
            (
                "postWebhooksEndpointsByIdRotateSecret",
                "webhooks/endpoints",
                "rotate_secret",
            ),
            (
                "getWebhooksEndpointsByIdStats",
                "webhooks/endpoints",
                "stats",
            ),
            ("postPayments", "payments", "create"),
            ("getAccount", "account", "retrieve"),
            (
                "postAccountWebhookSecretRotate",
                "account/webhook-secret",
                "rotate",
            ),
            ("postWebhooksSimulate", "webhooks", "simulate"),
            ("deletePortalSessions", "portal/sessions", "destroy_all"),
            (
                "getWebhooksPublicKeys{accountId}",
                "webhooks/public-keys",
                "retrieve",
            ),
            ("deleteEventTypesByName", "event-types", "destroy"),
            ("getOpenapi.json", "openapi", "retrieve"),
        ] {
            assert_eq!(named(id), (resource.to_string(), name.to_string()), "{id}");
        }
        let orders = by_id(&operations, "getOrders");
        assert!(orders.list && orders.cursors);
        assert_eq!(orders.returns.as_deref(), Some("Order"));
        assert_eq!(
            by_id(&operations, "postProducts").takes.as_deref(),
            Some("NewProductInput")
        );
        // Two operations never share a name.
        let mut names: Vec<(String, String)> = operations
            .iter()
            .map(|op| (op.resource.join("/"), op.name.clone()))
            .collect();
        names.sort();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "two operations share a method");
        // Nothing of the pages or the dialects.
        assert!(operations.iter().all(|op| op.path.starts_with("/api/v2/")));
        assert!(
            !operations.iter().any(|op| op.id == "getWebhooks"),
            "Paybyrd's"
        );
    }

    /// The generated tables are what the document says: a library neither misses an
    /// operation nor calls one the document lacks.
    #[test]
    fn the_libraries_tables_are_generated_from_the_current_document() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for (path, expected) in files(&document()) {
            let on_disk = std::fs::read_to_string(root.join(path)).unwrap_or_default();
            assert!(
                on_disk == expected,
                "{path} differs from what openapi.json says: run `make clients` and commit it"
            );
        }
    }
}
