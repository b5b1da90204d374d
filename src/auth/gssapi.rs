//! Kerberos through the platform's MIT GSSAPI library (`libgssapi_krb5.so.2`), loaded with
//! `libloading` when `--auth negotiate` runs. Linking it instead would make every build, and
//! every other mode, need the Kerberos development and runtime packages; loading it at run time
//! keeps the README's fresh-machine build free of system libraries.
//!
//! This is the crate's only unsafe code (the crate denies `unsafe_code` everywhere else): calls
//! of eight C functions whose signatures RFC 2744 fixes, each commented. Everything above it
//! (which step failed, which SPN, what goes on the wire) is safe code in `auth::kerberos` and
//! `client::kerberos_pool`.
//!
//! The mechanism is SPNEGO (1.3.6.1.5.5.2), so the tokens are what HTTP `Negotiate` carries;
//! mutual authentication is requested, and a context is complete only once the server's token
//! has been verified.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::sync::Arc;

type OmUint32 = u32;

#[repr(C)]
struct BufferDesc {
    length: usize,
    value: *mut c_void,
}

#[repr(C)]
struct OidDesc {
    length: OmUint32,
    elements: *mut c_void,
}

/// gss_channel_bindings_struct: only the application data is used (addresses unspecified).
#[repr(C)]
struct ChannelBindings {
    initiator_addrtype: OmUint32,
    initiator_address: BufferDesc,
    acceptor_addrtype: OmUint32,
    acceptor_address: BufferDesc,
    application_data: BufferDesc,
}

#[repr(C)]
struct OidSetDesc {
    count: usize,
    elements: *mut OidDesc,
}

type ImportName = unsafe extern "C" fn(
    *mut OmUint32,
    *mut BufferDesc,
    *mut OidDesc,
    *mut *mut c_void,
) -> OmUint32;
type InitSecContext = unsafe extern "C" fn(
    *mut OmUint32,
    *mut c_void,
    *mut *mut c_void,
    *mut c_void,
    *mut OidDesc,
    OmUint32,
    OmUint32,
    *mut c_void,
    *mut BufferDesc,
    *mut *mut OidDesc,
    *mut BufferDesc,
    *mut OmUint32,
    *mut OmUint32,
) -> OmUint32;
type AcquireCredWithPassword = unsafe extern "C" fn(
    *mut OmUint32,
    *mut c_void,
    *mut BufferDesc,
    OmUint32,
    *mut c_void,
    i32,
    *mut *mut c_void,
    *mut *mut c_void,
    *mut OmUint32,
) -> OmUint32;
type ReleaseBuffer = unsafe extern "C" fn(*mut OmUint32, *mut BufferDesc) -> OmUint32;
type ReleaseHandle = unsafe extern "C" fn(*mut OmUint32, *mut *mut c_void) -> OmUint32;
type DeleteSecContext =
    unsafe extern "C" fn(*mut OmUint32, *mut *mut c_void, *mut BufferDesc) -> OmUint32;
type DisplayStatus = unsafe extern "C" fn(
    *mut OmUint32,
    OmUint32,
    i32,
    *mut OidDesc,
    *mut OmUint32,
    *mut BufferDesc,
) -> OmUint32;

/// The library's name on Debian, Ubuntu, Fedora and RHEL (MIT Kerberos).
pub const LIBRARY: &str = "libgssapi_krb5.so.2";
/// The environment variable that names another library file.
pub const LIBRARY_VARIABLE: &str = "CMCONFORM_GSSAPI_LIBRARY";
/// 1.2.840.113554.1.2.1.4: GSS_C_NT_HOSTBASED_SERVICE (`HTTP@host`).
const HOSTBASED_SERVICE: [u8; 10] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
/// 1.2.840.113554.1.2.2.1: GSS_KRB5_NT_PRINCIPAL_NAME (`HTTP/host@REALM`, `user@REALM`).
const KRB5_PRINCIPAL: [u8; 10] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01];
/// 1.3.6.1.5.5.2: SPNEGO.
const SPNEGO: [u8; 6] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// 1.2.840.113554.1.2.2: Kerberos 5.
const KRB5: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const MUTUAL_FLAG: OmUint32 = 2;
const SEQUENCE_FLAG: OmUint32 = 8;
const CONTINUE_NEEDED: OmUint32 = 1;
/// GSS_C_INITIATE.
const INITIATE: i32 = 1;
/// Routine and calling errors live in the upper 16 bits of a major status (GSS_ERROR).
const ERROR_MASK: OmUint32 = 0xffff_0000;

/// A failed GSSAPI call: its codes (for naming the step) and the library's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GssError {
    pub major: u32,
    /// The mechanism's code: for Kerberos a com_err code of MIT's krb5 table.
    pub minor: u32,
    pub text: String,
}

/// The loaded library and the functions cmconform uses.
pub struct Gssapi {
    import_name: ImportName,
    init_sec_context: InitSecContext,
    acquire_cred_with_password: Option<AcquireCredWithPassword>,
    release_buffer: ReleaseBuffer,
    release_name: ReleaseHandle,
    release_cred: ReleaseHandle,
    delete_sec_context: DeleteSecContext,
    display_status: DisplayStatus,
    // Kept last so it is dropped after nothing can call into it.
    _library: libloading::Library,
}

impl std::fmt::Debug for Gssapi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gssapi")
    }
}

/// Looks up `name` in `library` as a function of type `F`.
///
/// # Safety
/// `F` must be the C signature of `name`.
unsafe fn symbol<F: Copy>(library: &libloading::Library, name: &[u8]) -> Result<F, String> {
    // SAFETY: the caller gives the symbol's true signature.
    unsafe { library.get::<F>(name) }
        .map(|symbol| *symbol)
        .map_err(|error| format!("{LIBRARY}: {error}"))
}

impl Gssapi {
    /// Loads MIT GSSAPI (`CMCONFORM_GSSAPI_LIBRARY` names another file); the error names the
    /// library and what to install.
    pub fn load() -> Result<Arc<Gssapi>, String> {
        let path = std::env::var_os(LIBRARY_VARIABLE)
            .filter(|path| !path.is_empty())
            .unwrap_or_else(|| LIBRARY.into());
        // SAFETY: loading runs the library's initialisers; libgssapi_krb5 is a system library
        // whose initialisers only set up its own state.
        let library = unsafe { libloading::Library::new(&path) }.map_err(|error| {
            format!(
                "--auth negotiate needs the MIT Kerberos GSSAPI library {}, which could not be \
                 loaded ({error}): install libgssapi-krb5-2 (Debian, Ubuntu) or krb5-libs \
                 (Fedora, RHEL), or name the file with {LIBRARY_VARIABLE}; the other --auth \
                 modes do not need it",
                path.to_string_lossy()
            )
        })?;
        // SAFETY: each symbol is given the signature RFC 2744 (and MIT's gssapi_ext.h for the
        // password extension) declares: OM_uint32 is 32 bits, sizes are size_t, handles are
        // pointers, gss_cred_usage_t is int.
        let gssapi = unsafe {
            Gssapi {
                import_name: symbol(&library, b"gss_import_name\0")?,
                init_sec_context: symbol(&library, b"gss_init_sec_context\0")?,
                acquire_cred_with_password: symbol(&library, b"gss_acquire_cred_with_password\0")
                    .ok(),
                release_buffer: symbol(&library, b"gss_release_buffer\0")?,
                release_name: symbol(&library, b"gss_release_name\0")?,
                release_cred: symbol(&library, b"gss_release_cred\0")?,
                delete_sec_context: symbol(&library, b"gss_delete_sec_context\0")?,
                display_status: symbol(&library, b"gss_display_status\0")?,
                _library: library,
            }
        };
        Ok(Arc::new(gssapi))
    }

    /// The text of a major or minor status (`kind` 1: GSS code, 2: mechanism code).
    fn status_text(&self, code: OmUint32, kind: i32) -> String {
        let mut texts = Vec::new();
        let mut context: OmUint32 = 0;
        loop {
            let mut minor: OmUint32 = 0;
            let mut buffer = BufferDesc {
                length: 0,
                value: std::ptr::null_mut(),
            };
            // SAFETY: all pointers are to live locals; a null mech OID means the default.
            let major = unsafe {
                (self.display_status)(
                    &mut minor,
                    code,
                    kind,
                    std::ptr::null_mut(),
                    &mut context,
                    &mut buffer,
                )
            };
            if major & ERROR_MASK != 0 {
                break;
            }
            texts.push(String::from_utf8_lossy(&self.take_bytes(&mut buffer)).into_owned());
            if context == 0 || texts.len() > 8 {
                break;
            }
        }
        texts.join("; ")
    }

    /// Copies a buffer the library allocated, then releases it.
    fn take_bytes(&self, buffer: &mut BufferDesc) -> Vec<u8> {
        if buffer.value.is_null() {
            return Vec::new();
        }
        // SAFETY: the library filled `value` with `length` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(buffer.value as *const u8, buffer.length) }
            .to_vec();
        let mut minor: OmUint32 = 0;
        // SAFETY: the buffer came from the library and is released once.
        unsafe { (self.release_buffer)(&mut minor, buffer) };
        bytes
    }

    fn error(&self, major: OmUint32, minor: OmUint32) -> GssError {
        let mut text = self.status_text(major, 1);
        if minor != 0 {
            text.push_str(&format!(": {}", self.status_text(minor, 2)));
        }
        GssError { major, minor, text }
    }

    /// Imports `text` as a name of type `oid`.
    fn import(&self, text: &str, oid: [u8; 10]) -> Result<Name<'_>, GssError> {
        let mut bytes = text.as_bytes().to_vec();
        let mut oid = oid;
        let mut buffer = BufferDesc {
            length: bytes.len(),
            value: bytes.as_mut_ptr().cast(),
        };
        let mut oid_desc = OidDesc {
            length: oid.len() as OmUint32,
            elements: oid.as_mut_ptr().cast(),
        };
        let mut minor: OmUint32 = 0;
        let mut handle: *mut c_void = std::ptr::null_mut();
        // SAFETY: the buffer and OID point at live locals the call only reads; `handle`
        // receives a new name that `Name::drop` releases.
        let major =
            unsafe { (self.import_name)(&mut minor, &mut buffer, &mut oid_desc, &mut handle) };
        if major & ERROR_MASK != 0 {
            return Err(self.error(major, minor));
        }
        Ok(Name {
            gssapi: self,
            handle,
        })
    }

    /// Initiator credentials for `principal` (`user` or `user@REALM`) from a password: the
    /// library asks the KDC for a ticket and keeps it in memory, never in a credential cache.
    pub fn password_credential(
        self: &Arc<Self>,
        principal: &str,
        password: &str,
    ) -> Result<Credential, GssError> {
        let Some(acquire) = self.acquire_cred_with_password else {
            return Err(GssError {
                major: 0,
                minor: 0,
                text: format!(
                    "{LIBRARY} has no gss_acquire_cred_with_password: get a ticket with kinit \
                     instead of --user/--password"
                ),
            });
        };
        let name = self.import(principal, KRB5_PRINCIPAL)?;
        let mut bytes = password.as_bytes().to_vec();
        let mut buffer = BufferDesc {
            length: bytes.len(),
            value: bytes.as_mut_ptr().cast(),
        };
        // For SPNEGO (the tokens) and Kerberos alone (the diagnosis of a failed first step).
        let (mut spnego, mut krb5) = (SPNEGO, KRB5);
        let mut mechs = [
            OidDesc {
                length: spnego.len() as OmUint32,
                elements: spnego.as_mut_ptr().cast(),
            },
            OidDesc {
                length: krb5.len() as OmUint32,
                elements: krb5.as_mut_ptr().cast(),
            },
        ];
        let mut mech_set = OidSetDesc {
            count: mechs.len(),
            elements: mechs.as_mut_ptr(),
        };
        let mut minor: OmUint32 = 0;
        let mut handle: *mut c_void = std::ptr::null_mut();
        // SAFETY: the name is live, the password buffer and the mechanism set point at live
        // locals; null actual mechanisms and time mean not wanted; `handle` receives a
        // credential that `Credential::drop` releases.
        let major = unsafe {
            acquire(
                &mut minor,
                name.handle,
                &mut buffer,
                0,
                (&mut mech_set as *mut OidSetDesc).cast(),
                INITIATE,
                &mut handle,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        bytes.fill(0);
        if major & ERROR_MASK != 0 {
            return Err(self.error(major, minor));
        }
        Ok(Credential {
            gssapi: Arc::clone(self),
            handle,
        })
    }
}

/// An imported name, released on drop.
struct Name<'a> {
    gssapi: &'a Gssapi,
    handle: *mut c_void,
}

impl Drop for Name<'_> {
    fn drop(&mut self) {
        if self.handle.is_null() {
            return;
        }
        let mut minor: OmUint32 = 0;
        // SAFETY: the name was created by gss_import_name and is released once.
        unsafe { (self.gssapi.release_name)(&mut minor, &mut self.handle) };
    }
}

/// Initiator credentials acquired with a password.
pub struct Credential {
    gssapi: Arc<Gssapi>,
    handle: *mut c_void,
}

// SAFETY: MIT credential handles carry their own lock and have no thread affinity; a
// credential is only read after it is acquired.
unsafe impl Send for Credential {}
// SAFETY: as above: concurrent gss_init_sec_context calls may share one credential.
unsafe impl Sync for Credential {}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(<in memory>)")
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        let mut minor: OmUint32 = 0;
        // SAFETY: the credential was created by gss_acquire_cred_with_password, released once.
        unsafe { (self.gssapi.release_cred)(&mut minor, &mut self.handle) };
    }
}

/// One security context towards one service principal: a fresh one per handshake (Kerberos
/// tokens are good once).
pub struct Context {
    gssapi: Arc<Gssapi>,
    credential: Option<Arc<Credential>>,
    /// The channel binding's application data (`tls-server-end-point:<hash>` over https).
    channel_binding: Option<Vec<u8>>,
    target: *mut c_void,
    context: *mut c_void,
    complete: bool,
}

// SAFETY: MIT contexts and names are heap objects with no thread affinity; a `Context` is used
// by one task at a time (it is moved between threads, never shared).
unsafe impl Send for Context {}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("complete", &self.complete)
            .finish()
    }
}

impl Context {
    /// A context for `spn`: `HTTP/host` (host-based) or `HTTP/host@REALM` (a principal name);
    /// with no `credential`, the environment's (`KRB5CCNAME`, `KRB5_CLIENT_KTNAME`); with a
    /// `channel_binding`, its tokens are bound to the connection (Extended Protection).
    pub fn new(
        gssapi: Arc<Gssapi>,
        spn: &str,
        credential: Option<Arc<Credential>>,
        channel_binding: Option<Vec<u8>>,
    ) -> Result<Context, GssError> {
        let (text, oid) = match spn.split_once('/') {
            Some((service, host)) if !host.contains('@') => {
                (format!("{service}@{host}"), HOSTBASED_SERVICE)
            }
            _ => (spn.to_string(), KRB5_PRINCIPAL),
        };
        let mut name = gssapi.import(&text, oid)?;
        // The context owns the name from here on.
        let target = std::mem::replace(&mut name.handle, std::ptr::null_mut());
        drop(name);
        Ok(Context {
            gssapi,
            credential,
            channel_binding,
            target,
            context: std::ptr::null_mut(),
            complete: false,
        })
    }

    /// One step: the first without a server token, the next with the server's. Returns the
    /// token to send (empty when there is none).
    pub fn step(&mut self, server_token: Option<&[u8]>) -> Result<Vec<u8>, GssError> {
        let first = self.context.is_null();
        let mut context = self.context;
        let result = self.init(&mut context, &SPNEGO, server_token);
        self.context = context;
        let (major, flags, token) = match result {
            Ok(done) => done,
            // SPNEGO hands the Kerberos failure on under a code of its own (MIT's mechanism
            // glue renumbers a minor code that two mechanisms report), so the same first step
            // is tried with Kerberos alone, whose code names the failure.
            Err(error) if first => return Err(self.diagnose().unwrap_or(error)),
            Err(error) => return Err(error),
        };
        self.complete = major & CONTINUE_NEEDED == 0;
        if self.complete && flags & MUTUAL_FLAG == 0 {
            return Err(GssError {
                major,
                minor: 0,
                text: "the context completed without mutual authentication".into(),
            });
        }
        Ok(token)
    }

    /// The failure of a first Kerberos-only step towards the same target, if it fails.
    fn diagnose(&self) -> Option<GssError> {
        let mut context: *mut c_void = std::ptr::null_mut();
        let result = self.init(&mut context, &KRB5, None);
        if !context.is_null() {
            let mut minor: OmUint32 = 0;
            // SAFETY: the context was created by gss_init_sec_context and is deleted once.
            unsafe {
                (self.gssapi.delete_sec_context)(&mut minor, &mut context, std::ptr::null_mut())
            };
        }
        result.err()
    }

    /// gss_init_sec_context for `mech` on `context`: the major status, the flags and the
    /// output token.
    fn init(
        &self,
        context: &mut *mut c_void,
        mech: &[u8],
        server_token: Option<&[u8]>,
    ) -> Result<(OmUint32, OmUint32, Vec<u8>), GssError> {
        let mut input = server_token.map(<[u8]>::to_vec).unwrap_or_default();
        let mut input_buffer = BufferDesc {
            length: input.len(),
            value: if input.is_empty() {
                std::ptr::null_mut()
            } else {
                input.as_mut_ptr().cast()
            },
        };
        let mut mech = mech.to_vec();
        let mut mech_desc = OidDesc {
            length: mech.len() as OmUint32,
            elements: mech.as_mut_ptr().cast(),
        };
        let mut output = BufferDesc {
            length: 0,
            value: std::ptr::null_mut(),
        };
        let mut minor: OmUint32 = 0;
        let mut flags: OmUint32 = 0;
        let credential = self
            .credential
            .as_ref()
            .map_or(std::ptr::null_mut(), |credential| credential.handle);
        let mut binding_data = self.channel_binding.clone().unwrap_or_default();
        let empty = || BufferDesc {
            length: 0,
            value: std::ptr::null_mut(),
        };
        let mut bindings = ChannelBindings {
            initiator_addrtype: 0,
            initiator_address: empty(),
            acceptor_addrtype: 0,
            acceptor_address: empty(),
            application_data: BufferDesc {
                length: binding_data.len(),
                value: binding_data.as_mut_ptr().cast(),
            },
        };
        let bindings_pointer: *mut c_void = if self.channel_binding.is_some() {
            (&mut bindings as *mut ChannelBindings).cast()
        } else {
            std::ptr::null_mut()
        };
        // SAFETY: every pointer is to a live local, to a context handle the caller owns, to
        // this context's target name or to a credential kept alive by the Arc; a null
        // credential means the default (the environment's ticket), a null channel binding
        // none, and the output buffer is released by `take_bytes`.
        let major = unsafe {
            (self.gssapi.init_sec_context)(
                &mut minor,
                credential,
                context,
                self.target,
                &mut mech_desc,
                MUTUAL_FLAG | SEQUENCE_FLAG,
                0,
                bindings_pointer,
                &mut input_buffer,
                std::ptr::null_mut(),
                &mut output,
                &mut flags,
                std::ptr::null_mut(),
            )
        };
        let token = self.gssapi.take_bytes(&mut output);
        if major & ERROR_MASK != 0 {
            return Err(self.gssapi.error(major, minor));
        }
        Ok((major, flags, token))
    }

    /// Whether the context is established (the server's mutual-authentication token verified).
    pub fn is_complete(&self) -> bool {
        self.complete
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        let mut minor: OmUint32 = 0;
        if !self.context.is_null() {
            // SAFETY: the context was created by gss_init_sec_context and is deleted once.
            unsafe {
                (self.gssapi.delete_sec_context)(
                    &mut minor,
                    &mut self.context,
                    std::ptr::null_mut(),
                )
            };
        }
        if !self.target.is_null() {
            // SAFETY: the name was created by gss_import_name and is released once.
            unsafe { (self.gssapi.release_name)(&mut minor, &mut self.target) };
        }
    }
}
