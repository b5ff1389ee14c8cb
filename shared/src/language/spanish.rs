//! The Spanish catalogue: every message PushGuard says to people, keyed by its English
//! text (the template at the `t!` that says it), written as a Spanish-speaking
//! developer would read it: `tú`, no anglicisms where Spanish has a word, the API's
//! names (fields, event types, statuses, codes) as the API spells them.
//!
//! `{field}` names a request field: English writes it as a heading ("Ordering key"),
//! Spanish as the API spells it (`ordering_key`), see [`field`].

use std::collections::HashMap;
use std::sync::LazyLock;

/// The catalogue, looked up by English text.
pub(super) static MESSAGES: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| ENTRIES.iter().copied().collect());

/// Messages that read the same in both languages.
#[cfg(test)]
pub(super) const SAME_IN_BOTH: [&str; 5] = [
    "bytes",
    "{field}: {problem}",
    "Endpoints",
    "Endpoint",
    "p95, 24 h",
];

/// An argument as a Spanish message writes it: a `{field}` as the API spells it
/// (`ordering_key`), a `{kind}` with its article ("la regla") or, as `{kind:plural}`,
/// in the plural ("reglas"); `{name:?}` quoted as `format!` quotes a string.
pub(super) fn argument(name: &str, spec: &str, value: &str) -> String {
    match (name, spec) {
        ("field", _) => value.trim().to_lowercase().replace(' ', "_"),
        ("kind", "plural") => kind(value).map_or(value, |(_, plural)| plural).to_string(),
        ("kind", _) => kind(value)
            .map_or(value, |(singular, _)| singular)
            .to_string(),
        (_, "?") => format!("{value:?}"),
        _ => value.to_string(),
    }
}

/// (English, Spanish), grouped by where they are said.
pub(super) const ENTRIES: &[(&str, &str)] = &[
    // The API's fixed answers (`error.rs`).
    ("Validation failed", "Los datos enviados no son válidos"),
    (
        "Unable to authenticate",
        "No se pudo autenticar la solicitud",
    ),
    (
        "You are not authorized to perform this action",
        "No tienes permiso para realizar esta acción",
    ),
    ("Route not found", "No existe esa ruta"),
    ("Method not allowed", "Método no permitido"),
    (
        "Not acceptable: this API only produces application/json",
        "No aceptable: esta API solo responde en application/json",
    ),
    (
        "Request body is larger than 256 KiB",
        "El cuerpo de la solicitud supera los 256 KiB",
    ),
    (
        "Unsupported media type: send the body as application/json",
        "Tipo de contenido no admitido: envía el cuerpo como application/json",
    ),
    ("Too many requests", "Demasiadas solicitudes"),
    (
        "Service unavailable, try again later",
        "El servicio no está disponible; inténtalo de nuevo más tarde",
    ),
    (
        "We're temporarily offline for maintenance. Please try again later.",
        "Estamos en mantenimiento y volveremos en breve. Inténtalo de nuevo más tarde.",
    ),
    ("Internal server error", "Error interno del servidor"),
    ("{kind} not found", "No se encontró {kind}"),
    // Validation shared by every resource (`error.rs`, `validate.rs`).
    (
        "{field} can't be blank",
        "El campo {field} no puede estar vacío",
    ),
    (
        "{field} is too short (minimum is {min} characters)",
        "El campo {field} es demasiado corto (el mínimo es de {min} caracteres)",
    ),
    (
        "{field} is too long (maximum is {max} characters)",
        "El campo {field} es demasiado largo (el máximo es de {max} caracteres)",
    ),
    (
        "{field} is nested deeper than {max} levels",
        "El campo {field} tiene más de {max} niveles de anidación",
    ),
    (
        "{field} has a key of {length} characters (keys have 1 to {max})",
        "El campo {field} tiene una clave de {length} caracteres (las claves tienen de 1 a {max})",
    ),
    (
        "{field} holds the number {number}, outside the range that can be stored (1e-130 to 1e126)",
        "El campo {field} contiene el número {number}, fuera del rango que se puede guardar (de 1e-130 a 1e126)",
    ),
    // Reading the request (`http.rs`, `pagination.rs`, `idempotency.rs`).
    (
        "Could not read the request body",
        "No se pudo leer el cuerpo de la solicitud",
    ),
    (
        "Invalid JSON body: {error}",
        "El cuerpo JSON no es válido: {error}",
    ),
    (
        "Invalid JSON body at {path}: {error}",
        "El cuerpo JSON no es válido en {path}: {error}",
    ),
    ("Offline for maintenance", "En mantenimiento"),
    (
        "Page must be an integer greater than or equal to 1",
        "El campo page debe ser un número entero mayor o igual que 1",
    ),
    (
        "Per page must be an integer between 1 and {max}",
        "El campo per_page debe ser un número entero entre 1 y {max}",
    ),
    (
        "{field} must be an id: 1 to {max} printable characters",
        "El campo {field} debe ser un id: de 1 a {max} caracteres imprimibles",
    ),
    (
        "Use starting_after or ending_before, not both",
        "Usa starting_after o ending_before, pero no los dos",
    ),
    (
        "Page cannot be combined with starting_after or ending_before",
        "El campo page no se puede combinar con starting_after ni con ending_before",
    ),
    (
        "Page is too deep: pages reach {max} items; list further with starting_after",
        "La página es demasiado profunda: las páginas llegan hasta {max} elementos; para seguir, usa starting_after",
    ),
    (
        "Page is too deep for this filter (more than {max} items to skip); list further with starting_after",
        "La página es demasiado profunda para este filtro (habría que saltar más de {max} elementos); para seguir, usa starting_after",
    ),
    (
        "This list is short and is listed by page: use page and per_page",
        "Esta lista es corta y se recorre por páginas: usa page y per_page",
    ),
    (
        "Idempotency-Key must be 1 to 255 printable ASCII characters",
        "Idempotency-Key debe tener de 1 a 255 caracteres ASCII imprimibles",
    ),
    (
        "This Idempotency-Key was used with a different request (another API key, method, path or body); use a new key for a new request",
        "Esta Idempotency-Key se usó con otra solicitud (otra clave de API, otro método, otra ruta u otro cuerpo); usa una clave nueva para cada solicitud nueva",
    ),
    (
        "The response to this Idempotency-Key was kept for an earlier secret of this API key and cannot be replayed",
        "La respuesta a esta Idempotency-Key se guardó con un secreto anterior de esta clave de API y no se puede repetir",
    ),
    (
        "The request with this Idempotency-Key made its change, but its response was lost; retrieve the object instead of sending the request again",
        "La solicitud con esta Idempotency-Key hizo su cambio, pero su respuesta se perdió; consulta el objeto en lugar de repetir la solicitud",
    ),
    (
        "A request with this Idempotency-Key is still in progress; try again when it has finished",
        "Una solicitud con esta Idempotency-Key sigue en curso; inténtalo de nuevo cuando termine",
    ),
    (
        "Another request with this Idempotency-Key is in progress",
        "Otra solicitud con esta Idempotency-Key está en curso",
    ),
    // Keys, scopes, accounts and portal links.
    (
        "Scope {s:?} is not valid: use \"*\" or \"<group>:read\" / \"<group>:write\"",
        "El alcance {s:?} no es válido: usa \"*\" o \"<grupo>:read\" / \"<grupo>:write\"",
    ),
    (
        "Scopes can't be blank",
        "El campo scopes no puede estar vacío",
    ),
    ("Name can't be blank", "El campo name no puede estar vacío"),
    (
        "Name is too long (maximum is {max} characters)",
        "El campo name es demasiado largo (el máximo es de {max} caracteres)",
    ),
    (
        "Email can't be blank",
        "El campo email no puede estar vacío",
    ),
    (
        "Email is not a valid email address",
        "El campo email no es una dirección de correo electrónico válida",
    ),
    (
        "Grace period seconds must be between 0 and {max}",
        "El campo grace_period_seconds debe estar entre 0 y {max}",
    ),
    (
        "Expires in must be from {min} to {max} seconds",
        "El campo expires_in debe estar entre {min} y {max} segundos",
    ),
    (
        "Expires in must be between 0 and {max} seconds",
        "El campo expires_in debe estar entre 0 y {max} segundos",
    ),
    (
        "API keys belong to their own account: a request acting for a child account (X-Child-Company-Id) cannot list, create or change keys",
        "Las claves de API pertenecen a su propia cuenta: una solicitud en nombre de una cuenta hija (X-Child-Company-Id) no puede listar, crear ni cambiar claves",
    ),
    (
        "A child account cannot have children of its own, and an account has at most {max} children",
        "Una cuenta hija no puede tener cuentas hijas propias, y una cuenta tiene como máximo {max} cuentas hijas",
    ),
    (
        "An account with email {email} already exists",
        "Ya existe una cuenta con el correo electrónico {email}",
    ),
    ("Key already exists", "La clave ya existe"),
    ("Account id already exists", "El id de la cuenta ya existe"),
    (
        "The account's webhook secret was rotated by another request at the same time; retry",
        "Otra solicitud rotó el secreto de webhooks de la cuenta al mismo tiempo; vuelve a intentarlo",
    ),
    (
        "The account's signing keys were changed by another request at the same time; retry",
        "Otra solicitud cambió las claves de firma de la cuenta al mismo tiempo; vuelve a intentarlo",
    ),
    (
        "The key was changed by another request; retry",
        "Otra solicitud cambió la clave; vuelve a intentarlo",
    ),
    (
        "Portal session already exists",
        "La sesión del portal ya existe",
    ),
    // Any resource (`store::resources`).
    (
        "The {kind} was changed by another request at the same time; retry",
        "Otra solicitud cambió {kind} al mismo tiempo; vuelve a intentarlo",
    ),
    ("{kind} id already exists", "Ya existe {kind} con ese id"),
    (
        "{kind} limit reached (maximum is {max} per account and mode)",
        "Se alcanzó el límite de {kind:plural} (el máximo es de {max} por cuenta y modo)",
    ),
    (
        "{kind} {id:?} does not exist (it was deleted meanwhile)",
        "No existe {kind} {id:?} (se eliminó mientras tanto)",
    ),
    // Endpoints and their URLs, headers and events (`manage.rs`, `webhooks/`).
    ("Url can't be blank", "El campo url no puede estar vacío"),
    (
        "{field} is not a valid URL ({error})",
        "El campo {field} no es una URL válida ({error})",
    ),
    ("{field} must use https", "El campo {field} debe usar https"),
    (
        "{field} must not contain a fragment",
        "El campo {field} no puede contener un fragmento (#)",
    ),
    (
        "{field} must have a host",
        "El campo {field} debe tener un host",
    ),
    (
        "{field} must not point to a private, loopback or link-local address",
        "El campo {field} no puede apuntar a una dirección privada, de loopback o de enlace local",
    ),
    (
        "Url cannot carry a user and password",
        "El campo url no puede llevar usuario y contraseña",
    ),
    (
        "Events can't be blank",
        "El campo events no puede estar vacío",
    ),
    (
        "Events can have at most {max} entries",
        "El campo events puede tener como máximo {max} elementos",
    ),
    (
        "Events from can't be blank: self, children, or both",
        "El campo events_from no puede estar vacío: self, children o los dos",
    ),
    (
        "Event {name:?} is not registered; register it with POST /event-types",
        "El evento {name:?} no está registrado; regístralo con POST /event-types",
    ),
    (
        "Event {s:?} is not a known event type",
        "El evento {s:?} no es un tipo de evento conocido",
    ),
    (
        "Event {s:?} cannot be subscribed to; it is sent only {where_to}",
        "No es posible suscribirse al evento {s:?}; solo se envía {where_to}",
    ),
    ("by the test route", "desde la ruta de prueba"),
    (
        "to a dynamic product's dynamic_url",
        "al dynamic_url de un producto dinámico",
    ),
    (
        "Filter is invalid: {error}",
        "El campo filter no es válido: {error}",
    ),
    (
        "Rate limit must be from 1 to {max} deliveries per second",
        "El campo rate_limit debe estar entre 1 y {max} entregas por segundo",
    ),
    (
        "Description is too long (maximum is {max} characters)",
        "El campo description es demasiado largo (el máximo es de {max} caracteres)",
    ),
    (
        "Since can't be blank",
        "El campo since no puede estar vacío",
    ),
    (
        "Since must not be in the future",
        "El campo since no puede estar en el futuro",
    ),
    (
        "Since must be an RFC 3339 timestamp",
        "El campo since debe ser una fecha y hora en formato RFC 3339",
    ),
    (
        "Enabled must be true or false",
        "El campo enabled debe ser true o false",
    ),
    (
        "Period must be one of 24h, 7d, 30d",
        "El campo period debe ser 24h, 7d o 30d",
    ),
    (
        "Status must be one of pending, retrying, succeeded, failed; got {s:?}",
        "El campo status debe ser pending, retrying, succeeded o failed; se recibió {s:?}",
    ),
    (
        "Headers are too many (maximum is {max})",
        "Hay demasiadas cabeceras (el máximo es {max})",
    ),
    (
        "Header name {name:?} is not a valid HTTP header name (up to {max} characters)",
        "{name:?} no es un nombre de cabecera HTTP válido (hasta {max} caracteres)",
    ),
    (
        "Header {name:?} is set by PushGuard and cannot be overridden",
        "PushGuard define la cabecera {name:?} y no se puede sustituir",
    ),
    (
        "Header {name:?} has an invalid value (printable text up to {max} characters)",
        "La cabecera {name:?} tiene un valor no válido (texto imprimible de hasta {max} caracteres)",
    ),
    (
        "Header {name:?} is masked ({masked}); send its value",
        "La cabecera {name:?} está enmascarada ({masked}); envía su valor",
    ),
    (
        "An endpoint with this URL already exists",
        "Ya existe un endpoint con esta URL",
    ),
    (
        "The endpoint was changed by another request at the same time; retry",
        "Otra solicitud cambió el endpoint al mismo tiempo; vuelve a intentarlo",
    ),
    ("Endpoint id already exists", "El id del endpoint ya existe"),
    (
        "Endpoints limit reached (maximum is {max} per account and mode)",
        "Se alcanzó el límite de endpoints (el máximo es de {max} por cuenta y modo)",
    ),
    // Events and event types (`functions/events`, `functions/webhook-logs`).
    (
        "Type {name:?} is not an event type",
        "{name:?} no es un tipo de evento",
    ),
    (
        "Type {name:?} is not registered; register it with POST /event-types",
        "El tipo {name:?} no está registrado; regístralo con POST /event-types",
    ),
    (
        "Type {event_type} is sent only {where_to}",
        "El tipo {event_type} solo se envía {where_to}",
    ),
    (
        "Type {event_type} is emitted by PushGuard itself when your data changes; publish a custom type you registered",
        "PushGuard emite el tipo {event_type} por sí mismo cuando cambian tus datos; publica un tipo propio que hayas registrado",
    ),
    (
        "Payload must be a JSON object",
        "El campo payload debe ser un objeto JSON",
    ),
    (
        "Ordering key can't be blank",
        "El campo ordering_key no puede estar vacío",
    ),
    (
        "Ordering key is too long (maximum is {max} bytes)",
        "El campo ordering_key es demasiado largo (el máximo es de {max} bytes)",
    ),
    (
        "Ordering key must not contain control characters",
        "El campo ordering_key no puede contener caracteres de control",
    ),
    (
        "Name {name:?} is a catalogue event type",
        "{name:?} es un tipo de evento del catálogo",
    ),
    (
        "Name {name:?} must look like resource:action (lower case, e.g. invoice:sent)",
        "El nombre {name:?} debe tener la forma recurso:acción (en minúsculas, p. ej. invoice:sent)",
    ),
    (
        "Event type {name} is already registered",
        "El tipo de evento {name} ya está registrado",
    ),
    ("Event id already exists", "El id del evento ya existe"),
    (
        "Event {name:?} is not an event type",
        "{name:?} no es un tipo de evento",
    ),
    (
        "Simulations send samples in test mode only: use a test key",
        "Las simulaciones envían ejemplos solo en modo de prueba: usa una clave de prueba",
    ),
    // The rule language (`rules.rs`, `functions/blacklist-rules`).
    ("Rule is invalid: {e}", "La regla no es válida: {e}"),
    (
        "{message} at position {position}",
        "{message} en la posición {position}",
    ),
    (
        "rule is too long (maximum is {max} characters)",
        "la regla es demasiado larga (el máximo es de {max} caracteres)",
    ),
    (
        "invalid regular expression ({cause})",
        "expresión regular no válida ({cause})",
    ),
    ("the end of the rule", "el final de la regla"),
    (
        "expected {expected}, found {found}",
        "se esperaba {expected}, pero se encontró {found}",
    ),
    ("unexpected {found}", "no se esperaba {found}"),
    ("an expression", "una expresión"),
    ("a value to compare with", "un valor con el que comparar"),
    ("a closing quote", "unas comillas de cierre"),
    (
        "a regular expression in quotes",
        "una expresión regular entre comillas",
    ),
    (
        "a CIDR range in quotes, or a list of them",
        "un rango CIDR entre comillas, o una lista de ellos",
    ),
    (
        "an expression after \"or\"",
        "una expresión después de \"or\"",
    ),
    (
        "an expression after \"and\"",
        "una expresión después de \"and\"",
    ),
    (
        "an expression after \"not\"",
        "una expresión después de \"not\"",
    ),
    ("digits after \".\"", "dígitos después de \".\""),
    (
        "an escape: \\\\ \\\" \\' \\n \\t \\r",
        "una secuencia de escape: \\\\ \\\" \\' \\n \\t \\r",
    ),
    (
        "nesting is too deep (maximum is {max})",
        "hay demasiados niveles de anidación (el máximo es {max})",
    ),
    (
        "Action type can't be blank (block, allow or flag)",
        "El campo action_type no puede estar vacío (block, allow o flag)",
    ),
    (
        "Action type {text:?} is not one of block, allow, flag",
        "El campo action_type {text:?} no es block, allow ni flag",
    ),
    (
        "Priority must be 1 or more (1 is evaluated first)",
        "El campo priority debe ser 1 o más (la 1 se evalúa primero)",
    ),
    // Blacklists (`commerce/blacklist.rs`, `functions/blacklists`).
    (
        "Blacklist type must be 1, 2 or 3",
        "El campo blacklist_type debe ser 1, 2 o 3",
    ),
    (
        "Blacklist type must be 1 (email), 2 (IP) or 3 (country)",
        "El campo blacklist_type debe ser 1 (correo electrónico), 2 (IP) o 3 (país)",
    ),
    (
        "Blocked data {data:?} is not an email address",
        "El campo blocked_data {data:?} no es una dirección de correo electrónico",
    ),
    (
        "Blocked data {data:?} is not an IP address or CIDR range",
        "El campo blocked_data {data:?} no es una dirección IP ni un rango CIDR",
    ),
    (
        "Blocked data {data:?} is not a two-letter country code",
        "El campo blocked_data {data:?} no es un código de país de dos letras",
    ),
    (
        "The payment was blocked by the blacklist rule {name:?}",
        "El pago se bloqueó por la regla de la lista negra {name:?}",
    ),
    (
        "The payment was blocked: the customer's {what} is blacklisted",
        "El pago se bloqueó: {what} del cliente está en la lista negra",
    ),
    ("email address", "el correo electrónico"),
    ("IP address", "la dirección IP"),
    ("country", "el país"),
    (
        "The payment was blocked: the customer's IP address is in a hosting or VPN network",
        "El pago se bloqueó: la dirección IP del cliente pertenece a una red de hosting o de VPN",
    ),
    // Products, categories and uploads (`functions/products`, `commerce/`, `uploads.rs`).
    ("Price {e}", "El campo price {e}"),
    ("Value {e}", "El campo value {e}"),
    (
        "must be a decimal number such as \"9.99\"",
        "debe ser un número decimal, como \"9.99\"",
    ),
    (
        "must be less than 10^{digits}",
        "debe ser menor que 10^{digits}",
    ),
    (
        "has more than {places} decimal places",
        "tiene más de {places} decimales",
    ),
    (
        "Currency {text:?} is not an ISO 4217 code",
        "La moneda {text:?} no es un código ISO 4217",
    ),
    (
        "Gateways can't be blank (one or more of paypal, stripe, bitcoin, ethereum, litecoin)",
        "El campo gateways no puede estar vacío (uno o más de paypal, stripe, bitcoin, ethereum, litecoin)",
    ),
    (
        "Product type must be 1 (file), 2 (serials), 3 (service) or 4 (dynamic)",
        "El campo product_type debe ser 1 (archivo), 2 (números de serie), 3 (servicio) o 4 (dinámico)",
    ),
    (
        "Stock delimiter must be 1 to 8 characters, not only spaces",
        "El campo stock_delimiter debe tener de 1 a 8 caracteres, no solo espacios",
    ),
    (
        "Stock of a serials product is the number of serials in info; set info instead",
        "El stock de un producto de números de serie es la cantidad de números en info; cambia info en su lugar",
    ),
    (
        "Stock must be \"∞\" or a non-negative integer",
        "El campo stock debe ser \"∞\" o un número entero no negativo",
    ),
    ("stock cannot be negative", "stock no puede ser negativo"),
    (
        "stock must be a non-negative integer",
        "stock debe ser un número entero no negativo",
    ),
    (
        "stock must be \"∞\" or a non-negative integer",
        "stock debe ser \"∞\" o un número entero no negativo",
    ),
    (
        "Minimum quantity must be at least 1",
        "El campo minimum_quantity debe ser al menos 1",
    ),
    (
        "Maximum quantity must not be less than the minimum quantity",
        "El campo maximum_quantity no puede ser menor que minimum_quantity",
    ),
    (
        "Max risk level must be between 0 and 100",
        "El campo max_risk_level debe estar entre 0 y 100",
    ),
    (
        "Crypto confirmations must be between 1 and 100",
        "El campo crypto_confirmations debe estar entre 1 y 100",
    ),
    (
        "Dynamic url can't be blank for a dynamic product",
        "El campo dynamic_url no puede estar vacío en un producto dinámico",
    ),
    (
        "Custom must be an object",
        "El campo custom debe ser un objeto",
    ),
    (
        "Product ids has too many products (maximum is {max})",
        "El campo product_ids tiene demasiados productos (el máximo es {max})",
    ),
    (
        "Purpose can't be blank (image or file)",
        "El campo purpose no puede estar vacío (image o file)",
    ),
    (
        "Mime type can't be blank",
        "El campo mime_type no puede estar vacío",
    ),
    ("Size can't be blank", "El campo size no puede estar vacío"),
    (
        "Filename can't be blank",
        "El campo filename no puede estar vacío",
    ),
    (
        "Filename is too long (maximum is {max} characters)",
        "El campo filename es demasiado largo (el máximo es de {max} caracteres)",
    ),
    (
        "Filename must not contain slashes or control characters",
        "El campo filename no puede contener barras ni caracteres de control",
    ),
    (
        "Mime type {mime_type:?} is not accepted for a {purpose}; accepted: {accepted}",
        "El tipo {mime_type:?} no se acepta para {purpose}; se aceptan: {accepted}",
    ),
    (
        "Size must be at least 1 byte",
        "El campo size debe ser de al menos 1 byte",
    ),
    (
        "Size must be at most {max} bytes for a {purpose} ({size} given)",
        "El campo size debe ser como máximo de {max} bytes para {purpose} (se indicaron {size})",
    ),
    (
        "{field} must be the id of an upload (upl_...) from POST /uploads, or null",
        "El campo {field} debe ser el id de una subida (upl_...) de POST /uploads, o null",
    ),
    (
        "{field}: upload {id} was not found as a {purpose} (not uploaded yet, expired, already attached, or made for another purpose)",
        "{field}: no se encontró la subida {id} como {purpose} (aún no se subió, caducó, ya se adjuntó o se hizo para otro propósito)",
    ),
    ("{field}: {problem}", "{field}: {problem}"),
    (
        "{field}: the uploaded bytes are not a {mime_type} image (they are {sniffed})",
        "{field}: los bytes subidos no son una imagen {mime_type} (son {sniffed})",
    ),
    (
        "{field}: the uploaded bytes are not a {mime_type} image",
        "{field}: los bytes subidos no son una imagen {mime_type}",
    ),
    // Payments and orders (`functions/payments`, `functions/orders`).
    (
        "Product {id:?} does not exist",
        "El producto {id:?} no existe",
    ),
    (
        "Gateway {gateway} is not accepted for this product",
        "Este producto no acepta el método de pago {gateway}",
    ),
    (
        "Quantity must be between 1 and {max}",
        "El campo quantity debe estar entre 1 y {max}",
    ),
    (
        "Quantity must be between {min} and {max} for this product",
        "El campo quantity debe estar entre {min} y {max} para este producto",
    ),
    (
        "Quantity must be at least {min} for this product",
        "El campo quantity debe ser al menos {min} para este producto",
    ),
    (
        "Value and currency come from the product's price; leave them out when buying a product",
        "value y currency salen del precio del producto; no los envíes al comprar un producto",
    ),
    (
        "Not enough stock for this quantity",
        "No hay stock suficiente para esta cantidad",
    ),
    (
        "Value must be greater than 0",
        "El campo value debe ser mayor que 0",
    ),
    (
        "Ip address {ip:?} is not an IP address",
        "El campo ip_address {ip:?} no es una dirección IP",
    ),
    (
        "Country code {code:?} is not a two-letter country code",
        "El campo country_code {code:?} no es un código de país de dos letras",
    ),
    (
        "Return url must be an absolute http(s) URL",
        "El campo return_url debe ser una URL http(s) absoluta",
    ),
    (
        "The order is paid; refund it instead of cancelling the payment",
        "El pedido está pagado; reembólsalo en lugar de cancelar el pago",
    ),
    (
        "The payment has an email already",
        "El pago ya tiene un correo electrónico",
    ),
    (
        "The payment can no longer change: it was cancelled or paid",
        "El pago ya no puede cambiar: se canceló o se pagó",
    ),
    ("Payment token already exists", "El token de pago ya existe"),
    (
        "Status must be one of 0, 51, 52, 53, 54, 55, 56, 100",
        "El campo status debe ser 0, 51, 52, 53, 54, 55, 56 o 100",
    ),
    (
        "Status cannot change from {from} ({from_name}) to {to} ({to_name})",
        "El campo status no puede pasar de {from} ({from_name}) a {to} ({to_name})",
    ),
    (
        "The payment of this order was cancelled; the order can no longer change",
        "El pago de este pedido se canceló; el pedido ya no puede cambiar",
    ),
    (
        "The customer has not given an email yet: the payment page asks for it before payment",
        "El cliente aún no ha dado su correo electrónico: la página de pago se lo pide antes de pagar",
    ),
    (
        "The product {id} of this order no longer exists; its stock cannot be taken",
        "El producto {id} de este pedido ya no existe; no se puede descontar su stock",
    ),
    (
        "Not enough stock: {wanted} wanted, {left} left",
        "No hay stock suficiente: se piden {wanted} y quedan {left}",
    ),
    // Feedback and queries (`functions/feedback`, `commerce/support.rs`).
    ("Order {id:?} does not exist", "El pedido {id:?} no existe"),
    (
        "Score can't be blank (1 to 5)",
        "El campo score no puede estar vacío (de 1 a 5)",
    ),
    (
        "Score must be between 1 and 5",
        "El campo score debe estar entre 1 y 5",
    ),
    (
        "This order already has feedback",
        "Este pedido ya tiene una valoración",
    ),
    (
        "Status can't be blank (pending, answered or closed)",
        "El campo status no puede estar vacío (pending, answered o closed)",
    ),
    (
        "Status {text:?} is not one of pending, answered, closed",
        "El campo status {text:?} no es pending, answered ni closed",
    ),
    (
        "The query is closed; reopen it (status pending) to reply",
        "La consulta está cerrada; vuelve a abrirla (status pending) para responder",
    ),
    (
        "The query has {max} messages, the most it can keep",
        "La consulta tiene {max} mensajes, el máximo que puede guardar",
    ),
    // The other seeds' APIs (`dialects/`).
    (
        "Synchronous webhooks are not offered: PushGuard delivers every event asynchronously, with retries; send synchronous: false",
        "No se ofrecen webhooks síncronos: PushGuard entrega cada evento de forma asíncrona, con reintentos; envía synchronous: false",
    ),
    (
        "Limit must be a number from 1 to {max}",
        "El campo limit debe ser un número de 1 a {max}",
    ),
    (
        "The data sent is not valid.",
        "Los datos enviados no son válidos.",
    ),
    ("Unauthorized access.", "Acceso no autorizado."),
    (
        "You are not allowed to perform this action.",
        "No tienes permiso para realizar esta acción.",
    ),
    (
        "The resource was not found.",
        "El recurso no ha sido encontrado.",
    ),
    (
        "The requested API version is not supported.",
        "La versión de la API solicitada no es compatible.",
    ),
    (
        "The request conflicts with the resource's current state.",
        "La solicitud entra en conflicto con el estado actual del recurso.",
    ),
    (
        "Too many requests; try again later.",
        "Demasiadas solicitudes; intenta de nuevo más tarde.",
    ),
    ("Method not allowed.", "Método no permitido."),
    (
        "Something went wrong; try again later.",
        "Ocurrió un error; intenta de nuevo más tarde.",
    ),
    (
        "Events contains {name:?}, which is not an event: use {names}",
        "El campo events contiene {name:?}, que no es un evento: usa {names}",
    ),
    (
        "Account can't be blank",
        "El campo account no puede estar vacío",
    ),
    (
        "The account is not the key's: a key acts for its own account only",
        "La cuenta no es la de la clave: una clave solo actúa en nombre de su propia cuenta",
    ),
    (
        "The account has a webhook channel already: change it with /webhook/change",
        "La cuenta ya tiene un canal de webhooks: cámbialo con /webhook/change",
    ),
    (
        "Enabled is set with /webhook/change",
        "enabled se cambia con /webhook/change",
    ),
    (
        "Webhook created successfully",
        "Webhook creado correctamente",
    ),
    (
        "Webhook updated successfully",
        "Webhook actualizado correctamente",
    ),
    (
        "Webhook deleted successfully",
        "Webhook eliminado correctamente",
    ),
    (
        "Test webhook delivered successfully",
        "Webhook de prueba entregado correctamente",
    ),
    (
        "Test webhook could not be delivered",
        "No se pudo entregar el webhook de prueba",
    ),
    (
        "The given data was invalid.",
        "Los datos proporcionados no son válidos.",
    ),
    ("Unauthenticated.", "No autenticado."),
    (
        "This action is unauthorized: the token lacks the required scope.",
        "Esta acción no está autorizada: al token le falta el alcance necesario.",
    ),
    ("Webhook not found.", "No se encontró el webhook."),
    // The portal's pages.
    ("(sent only {where_to})", "(solo se envía {where_to})"),
    (
        "Endpoint {id:?} is not an endpoint id",
        "{id:?} no es un id de endpoint",
    ),
    (
        "After must be a delivery id",
        "El campo after debe ser un id de entrega",
    ),
    (
        "Headers line {line} must be written as name: value",
        "La línea {line} de las cabeceras debe tener la forma nombre: valor",
    ),
    (
        "Rate limit must be a whole number of deliveries per second",
        "El límite debe ser un número entero de entregas por segundo",
    ),
    // The portal: its frame, links and refusals (`functions/portal/src/pages/mod.rs`).
    ("PushGuard webhooks", "Webhooks de PushGuard"),
    ("Endpoints", "Endpoints"),
    ("Deliveries", "Entregas"),
    ("Event types", "Tipos de evento"),
    ("read only", "solo lectura"),
    ("manage", "gestión"),
    ("Not allowed", "No permitido"),
    (
        "Ask whoever sent you the link for a new one.",
        "Pide un enlace nuevo a quien te envió este.",
    ),
    ("Something went wrong", "Algo salió mal"),
    ("That did not work", "No se pudo hacer"),
    (
        "Try again in {retry_after_seconds} s.",
        "Inténtalo de nuevo en {retry_after_seconds} s.",
    ),
    ("Back to the portal", "Volver al portal"),
    (
        "Open the portal from its link.",
        "Abre el portal desde su enlace.",
    ),
    ("This link is read only.", "Este enlace es de solo lectura."),
    (
        "Ask for a link with the manage scope to change anything.",
        "Para cambiar algo, pide un enlace con el alcance manage.",
    ),
    (
        "This form did not come from this portal.",
        "Este formulario no viene de este portal.",
    ),
    (
        "Reload the page and try again.",
        "Recarga la página e inténtalo de nuevo.",
    ),
    (
        "This link is not valid: it was opened already, has expired or was revoked.",
        "Este enlace no es válido: ya se abrió, caducó o se revocó.",
    ),
    (
        "Open another account's portal?",
        "¿Abrir el portal de otra cuenta?",
    ),
    (
        "This browser is looking at the webhooks of {current}. The link opens those of {next}, and this browser then leaves the first.",
        "Este navegador está viendo los webhooks de {current}. El enlace abre los de {next}, y entonces este navegador deja los primeros.",
    ),
    ("Open {next}", "Abrir {next}"),
    ("Stay with {current}", "Seguir con {current}"),
    ("Another account", "Otra cuenta"),
    ("Saved.", "Guardado."),
    (
        "Enabled: deliveries resume and its failure count is cleared.",
        "Activado: las entregas se reanudan y su contador de fallos vuelve a cero.",
    ),
    (
        "Disabled: no deliveries until it is enabled again.",
        "Desactivado: no habrá entregas hasta que se active de nuevo.",
    ),
    (
        "Delivered again: the latest attempt is below.",
        "Entregado de nuevo: el último intento está abajo.",
    ),
    ("Not saved:", "No se guardó:"),
    ("Not found", "No encontrado"),
    // The portal's endpoints (`pages/endpoints.rs`, `pages/charts.rs`).
    ("Add an endpoint", "Añadir un endpoint"),
    ("No endpoints yet", "Todavía no hay endpoints"),
    ("Events", "Eventos"),
    ("State", "Situación"),
    ("Success, 24 h", "Éxito, 24 h"),
    ("p95, 24 h", "p95, 24 h"),
    ("Attempts per hour", "Intentos por hora"),
    ("no limit", "sin límite"),
    (
        "at most {limit} per second",
        "como máximo {limit} por segundo",
    ),
    (
        "slowed to {rate} per second",
        "frenado a {rate} por segundo",
    ),
    (
        "the receiver answered {reason}",
        "el receptor respondió {reason}",
    ),
    ("as they come", "según llegan"),
    (
        "a failed delivery lets the next one go",
        "una entrega fallida deja pasar a la siguiente",
    ),
    (
        "a failed delivery holds its resource",
        "una entrega fallida retiene su recurso",
    ),
    (
        "each resource's events in order; {rule}",
        "los eventos de cada recurso en orden; {rule}",
    ),
    ("held: {keys}", "retenidos: {keys}"),
    (
        "retry the failed delivery to release it",
        "reintenta la entrega fallida para liberarlo",
    ),
    ("enabled", "activado"),
    ("disabled by errors", "desactivado por errores"),
    ("{count} failures in a row", "{count} fallos seguidos"),
    ("disabled", "desactivado"),
    ("No such endpoint", "No existe ese endpoint"),
    ("All endpoints", "Todos los endpoints"),
    ("24 hours", "24 horas"),
    ("7 days", "7 días"),
    ("Disable", "Desactivar"),
    ("Enable", "Activar"),
    ("Send a test ping", "Enviar un ping de prueba"),
    ("Rotate the signing secret", "Rotar el secreto de firma"),
    ("Its deliveries", "Sus entregas"),
    ("Endpoint", "Endpoint"),
    ("Filter", "Filtro"),
    ("Headers", "Cabeceras"),
    ("Signatures", "Firmas"),
    ("Payload", "Contenido"),
    ("Made through", "Creado mediante"),
    ("Rate", "Ritmo"),
    ("Delivery order", "Orden de entrega"),
    ("Attempts", "Intentos"),
    (
        "{attempts} ({succeeded} succeeded, {failed} failed)",
        "{attempts} ({succeeded} con éxito, {failed} fallidos)",
    ),
    ("Latency", "Latencia"),
    ("Latency per hour", "Latencia por hora"),
    ("none", "ninguno"),
    ("succeeded", "entregada"),
    ("failed", "fallida"),
    ("retrying", "reintentando"),
    ("pending", "pendiente"),
    (
        "Signature scheme must be v1, v1a or both",
        "El campo signature_scheme debe ser v1, v1a o both",
    ),
    (
        "Payload must be full or thin",
        "El campo payload debe ser full o thin",
    ),
    (
        "Ordering must be none or resource",
        "El campo ordering debe ser none o resource",
    ),
    (
        "On exhausted must be skip or block",
        "El campo on_exhausted debe ser skip o block",
    ),
    ("PushGuard's API", "La API de PushGuard"),
    (
        "Conekta's webhooks API (deliveries are Conekta events)",
        "La API de webhooks de Conekta (las entregas son eventos de Conekta)",
    ),
    (
        "Paybyrd's webhook settings (payment status notifications)",
        "La configuración de webhooks de Paybyrd (avisos de estado de los pagos)",
    ),
    (
        "Pixlpay's webhooks API (Pixlpay-signed deliveries)",
        "La API de webhooks de Pixlpay (entregas firmadas como Pixlpay)",
    ),
    (
        "the Key/Sign subscription API (Key and Sign headers)",
        "la API de suscripción Key/Sign (cabeceras Key y Sign)",
    ),
    ("Edit", "Editar"),
    ("Save", "Guardar"),
    ("Description", "Descripción"),
    (
        "optional: a rule on the payload, e.g. {example}",
        "opcional: una regla sobre el contenido, p. ej. {example}",
    ),
    (
        "one {line} per line; a value shown as {masked} is kept as it is",
        "un {line} por línea; un valor que se muestra como {masked} se conserva tal cual",
    ),
    ("Also send {header}", "Enviar también {header}"),
    (
        "body only, replayable: untick once your receiver checks {header}",
        "solo el cuerpo, reutilizable: desmárcalo cuando tu receptor compruebe {header}",
    ),
    ("Rate limit", "Límite"),
    ("per second", "por segundo"),
    (
        "When a delivery exhausts its retries",
        "Cuando una entrega agota sus reintentos",
    ),
    (
        "v1: HMAC with the endpoint's secret",
        "v1: HMAC con el secreto del endpoint",
    ),
    (
        "v1a: ed25519, the account's public key verifies",
        "v1a: ed25519, se verifica con la clave pública de la cuenta",
    ),
    ("both", "ambos"),
    ("full: the event's object", "full: el objeto del evento"),
    ("thin: its type and id only", "thin: solo su tipo y su id"),
    ("none: as they come", "none: según llegan"),
    (
        "resource: each resource's events in order",
        "resource: los eventos de cada recurso en orden",
    ),
    (
        "skip: the next one of its resource goes",
        "skip: pasa el siguiente de su recurso",
    ),
    ("block: its resource waits", "block: su recurso espera"),
    ("see what to change", "mira qué cambiar"),
    ("Add the endpoint", "Añadir el endpoint"),
    ("Endpoint added", "Endpoint añadido"),
    (
        "Its signing secret, shown this once: copy it to the receiver now.",
        "Su secreto de firma, que solo se muestra esta vez: cópialo ahora en el receptor.",
    ),
    ("Go to the endpoint", "Ir al endpoint"),
    ("Signing secret rotated", "Secreto de firma rotado"),
    ("Back to the endpoint", "Volver al endpoint"),
    ("Test ping", "Ping de prueba"),
    ("Delivered", "Entregado"),
    ("Not delivered", "No entregado"),
    ("Result", "Resultado"),
    ("Response", "Respuesta"),
    ("Took", "Duración"),
    ("Sent", "Enviado"),
    ("Delivery", "Entrega"),
    ("no response", "sin respuesta"),
    (
        "attempts per hour by outcome",
        "intentos por hora según el resultado",
    ),
    ("{most} per hour", "{most} por hora"),
    (
        "latency percentiles per hour",
        "percentiles de latencia por hora",
    ),
    // The portal's deliveries (`pages/deliveries.rs`).
    ("No deliveries match", "Ninguna entrega coincide"),
    ("Created", "Creada"),
    ("Event", "Evento"),
    ("Older deliveries", "Entregas anteriores"),
    (
        "1 failed delivery queued to go out again.",
        "1 entrega fallida en cola para salir de nuevo.",
    ),
    (
        "{n} failed deliveries queued to go out again.",
        "{n} entregas fallidas en cola para salir de nuevo.",
    ),
    ("any status", "cualquier estado"),
    ("Event type", "Tipo de evento"),
    ("Show", "Mostrar"),
    ("any endpoint", "cualquier endpoint"),
    ("Recover failed deliveries", "Recuperar entregas fallidas"),
    (
        "Every failed delivery to the endpoint created since the date goes out again (up to {max} at a time).",
        "Cada entrega fallida al endpoint creada desde esa fecha sale de nuevo (hasta {max} a la vez).",
    ),
    ("Since", "Desde"),
    ("Recover", "Recuperar"),
    ("{code} in {ms} ms", "{code} en {ms} ms"),
    ("No such delivery", "No existe esa entrega"),
    ("All deliveries", "Todas las entregas"),
    ("none recorded", "no se registró ninguna"),
    ("Outcome", "Resultado"),
    ("No attempt yet.", "Todavía no hay intentos."),
    ("Deliver again now", "Entregar de nuevo ahora"),
    ("Next attempt", "Próximo intento"),
    ("Its endpoint", "Su endpoint"),
    ("To", "A"),
    ("Request", "Solicitud"),
    (
        "The latest attempt's headers and the body, byte for byte as sent.",
        "Las cabeceras del último intento y el cuerpo, byte a byte tal como se enviaron.",
    ),
    (
        "{count} (1 automatic retry allowed)",
        "{count} (se permite 1 reintento automático)",
    ),
    (
        "{count} ({limit} automatic retries allowed)",
        "{count} (se permiten {limit} reintentos automáticos)",
    ),
    // The portal's event catalogue (`pages/catalogue.rs`).
    (
        "This account's own types",
        "Los tipos propios de esta cuenta",
    ),
    (
        "Published by the merchant with any payload.",
        "Los publica el comercio con el contenido que quiera.",
    ),
    (
        "Each delivery is a {post} whose body is the event's object as JSON. Open a type to see a sample.",
        "Cada entrega es un {post} cuyo cuerpo es el objeto del evento en JSON. Abre un tipo para ver un ejemplo.",
    ),
    ("Verifying a delivery", "Cómo verificar una entrega"),
    (
        "Every delivery is signed with the endpoint's secret ({prefix}, shown once when the endpoint is made or its secret rotated), as {standard} specifies. Check the signature over the raw body, before parsing it, and refuse a timestamp more than five minutes off. While a secret is rotated, {header} carries one signature per valid secret: accept any.",
        "Cada entrega va firmada con el secreto del endpoint ({prefix}, que se muestra una vez al crear el endpoint o rotar su secreto), como especifica {standard}. Comprueba la firma sobre el cuerpo en bruto, antes de interpretarlo, y rechaza una marca de tiempo desviada más de cinco minutos. Mientras se rota un secreto, {header} lleva una firma por cada secreto válido: acepta cualquiera.",
    ),
    (
        "the delivery's id: the same on every retry, so a receiver can drop duplicates",
        "el id de la entrega: el mismo en cada reintento, para que el receptor pueda descartar duplicados",
    ),
    (
        "when this attempt was signed, in Unix seconds",
        "cuándo se firmó este intento, en segundos Unix",
    ),
    (
        "{prefix} + base64 HMAC-SHA256 of {signed}",
        "{prefix} + HMAC-SHA256 en base64 de {signed}",
    ),
    (
        "Endpoints signed with ed25519 ({scheme})",
        "Endpoints firmados con ed25519 ({scheme})",
    ),
    (
        "An endpoint set to {scheme} carries {prefix} + base64 ed25519 signatures of the same {signed}, made with this account's private key; verify them with its public keys ({key}), published without any key at {link}. No shared secret to leak.",
        "Un endpoint configurado con {scheme} lleva {prefix} + firmas ed25519 en base64 del mismo {signed}, hechas con la clave privada de esta cuenta; verifícalas con sus claves públicas ({key}), publicadas sin necesidad de clave en {link}. No hay ningún secreto compartido que se pueda filtrar.",
    ),
    // Parsed values (`commerce/money.rs`, `tenant.rs`).
    (
        "Gateway {text:?} is not supported (one of {all})",
        "El método de pago {text:?} no es compatible (uno de {all})",
    ),
    (
        "Mode must be live or test, got {other:?}",
        "El campo mode debe ser live o test; se recibió {other:?}",
    ),
    // The hosted payment page.
    ("Amount", "Importe"),
    ("Quantity", "Cantidad"),
    ("Gateway", "Método de pago"),
    ("Status", "Estado"),
    ("Order", "Pedido"),
    (
        "Your email, for the receipt and what you buy",
        "Tu correo electrónico, para el recibo y lo que compras",
    ),
    ("Continue to payment", "Continuar con el pago"),
    (
        "Test mode: this is not a real payment, and no money moves.",
        "Modo de prueba: este no es un pago real y no se mueve dinero.",
    ),
    ("Return to the shop", "Volver a la tienda"),
    ("Your purchase", "Tu compra"),
    ("Download", "Descargar"),
    ("bytes", "bytes"),
    (
        "Reload this page to see the latest status.",
        "Recarga esta página para ver el estado más reciente.",
    ),
    ("Cancelled", "Cancelado"),
    (
        "Paid: your purchase is being prepared",
        "Pagado: estamos preparando tu compra",
    ),
    ("This payment does not exist.", "Este pago no existe."),
    (
        "The download is for the customer who paid: this payment is not complete.",
        "La descarga es para quien pagó: este pago no está completo.",
    ),
    (
        "This purchase has no file to download.",
        "Esta compra no tiene ningún archivo para descargar.",
    ),
    // The seed's order statuses, as the payment page says them.
    ("Not paid", "No pagado"),
    ("Chargeback/Reversed", "Contracargo/Revertido"),
    ("High risk", "Riesgo alto"),
    ("Partially paid", "Pagado parcialmente"),
    (
        "Awaiting Cryptocurrency confirmations",
        "Esperando confirmaciones de la criptomoneda",
    ),
    ("Pending - PayPal", "Pendiente - PayPal"),
    ("Refunded", "Reembolsado"),
    ("Successful and completed", "Completado con éxito"),
];

/// The kinds of thing the API names (`crate::ids::kinds`, in any case), in Spanish:
/// with the article, and in the plural.
pub(super) const NOUNS: [(&str, &str, &str); 21] = [
    ("Account", "la cuenta", "cuentas"),
    ("API key", "la clave de API", "claves de API"),
    ("Endpoint", "el endpoint", "endpoints"),
    ("Event", "el evento", "eventos"),
    ("Event type", "el tipo de evento", "tipos de evento"),
    (
        "Webhook log",
        "el registro del webhook",
        "registros de webhooks",
    ),
    ("Webhook", "el webhook", "webhooks"),
    ("Product", "el producto", "productos"),
    ("Category", "la categoría", "categorías"),
    ("Order", "el pedido", "pedidos"),
    ("Payment", "el pago", "pagos"),
    (
        "Blacklist",
        "la entrada de la lista negra",
        "entradas de la lista negra",
    ),
    (
        "Blacklist rule",
        "la regla de la lista negra",
        "reglas de la lista negra",
    ),
    ("Feedback", "la valoración", "valoraciones"),
    ("Query", "la consulta", "consultas"),
    ("Request", "la solicitud", "solicitudes"),
    (
        "Portal session",
        "la sesión del portal",
        "sesiones del portal",
    ),
    ("Upload", "la subida", "subidas"),
    ("Image", "la imagen", "imágenes"),
    (
        "Blocked resource",
        "el recurso bloqueado",
        "recursos bloqueados",
    ),
    ("Route", "la ruta", "rutas"),
];

/// `kind` in Spanish (singular with its article, plural), if the catalogue has it.
pub(super) fn kind(kind: &str) -> Option<(&'static str, &'static str)> {
    NOUNS
        .iter()
        .find(|(english, _, _)| english.eq_ignore_ascii_case(kind.trim()))
        .map(|(_, singular, plural)| (*singular, *plural))
}
