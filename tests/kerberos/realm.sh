#!/bin/sh
# A throwaway MIT Kerberos realm in one directory, for tests/kerberos.rs and
# scripts/measure-kerberos.sh: krb5.conf and kdc.conf (point KRB5_CONFIG and KRB5_KDC_PROFILE
# at them; the system's /etc/krb5.conf is never read or written), the KDC database, a user
# principal with a password and a client keytab, HTTP/localhost with the acceptor's keytab, and
# HTTP/elsewhere.localhost, which the KDC knows but the acceptor holds no key for.
#
# Usage: realm.sh DIR KDC_PORT. The caller starts the KDC itself (krb5kdc -n, stopped by pid).
set -eu
dir=$1
port=$2
realm=CMCONFORM.TEST
cat >"$dir/krb5.conf" <<CONF
[libdefaults]
    default_realm = $realm
    dns_lookup_realm = false
    dns_lookup_kdc = false
    rdns = false
    dns_canonicalize_hostname = false
    udp_preference_limit = 0
    kdc_timeout = 2s
    max_retries = 1
[realms]
    $realm = {
        kdc = 127.0.0.1:$port
    }
[domain_realm]
    localhost = $realm
    .localhost = $realm
CONF
cat >"$dir/kdc.conf" <<CONF
[kdcdefaults]
    kdc_ports = $port
    kdc_tcp_ports = $port
[realms]
    $realm = {
        database_name = $dir/principal
        key_stash_file = $dir/stash
        acl_file = $dir/kadm5.acl
        max_life = 1h
    }
[logging]
    kdc = FILE:$dir/kdc.log
CONF
: >"$dir/kadm5.acl"
export KRB5_CONFIG="$dir/krb5.conf" KRB5_KDC_PROFILE="$dir/kdc.conf"
kdb5_util create -s -r "$realm" -P "master-$$-pw" >/dev/null
admin() { kadmin.local -r "$realm" -q "$1" >/dev/null 2>&1; }
admin "addprinc -pw user-pw-1 svc-cm"
admin "addprinc -randkey HTTP/localhost"
admin "addprinc -randkey HTTP/elsewhere.localhost"
admin "ktadd -k $dir/http.keytab HTTP/localhost"
admin "ktadd -norandkey -k $dir/client.keytab svc-cm"
