<?php
// Shared SimpleSAMLphp 1.19 configuration of the loopback test IdPs (deploy/simplesamlphp.sh starts them).
// Each IdP's config/config.php sets $idp (its folder name) and $defaultPort, then includes this file.
// Runtime files (keys, logs, sessions, the SP metadata it trusts) live under $SSP_RUNTIME_DIR/<idp>/,
// never in the tree: the keys are generated on first start.
$runtime = rtrim(getenv('SSP_RUNTIME_DIR') ?: dirname(__DIR__, 2) . '/var/simplesamlphp', '/') . '/' . $idp . '/';
$port = getenv('SSP_PORT') ?: $defaultPort;

// The SP metadata this IdP trusts: every XML file an administrator "uploaded" into sp-metadata/
// (our per-organisation SP metadata, downloaded from the portal's SSO page).
$sources = [['type' => 'flatfile']];
foreach (glob($runtime . 'sp-metadata/*.xml') ?: [] as $file) {
    $sources[] = ['type' => 'xml', 'file' => $file];
}

$config = [
    'baseurlpath'            => "http://127.0.0.1:$port/",
    'certdir'                => $runtime . 'cert/',
    'loggingdir'             => $runtime . 'log/',
    'datadir'                => $runtime . 'data/',
    'tempdir'                => $runtime . 'tmp/',
    'metadatadir'            => __DIR__ . '/' . $idp . '/metadata/',
    'secretsalt'             => 'test-only-salt-' . $idp,
    'auth.adminpassword'     => 'admin',
    'admin.protectindexpage' => false,
    'admin.protectmetadata'  => false,
    'admin.checkforupdates'  => false,
    'technicalcontact_name'  => 'Test',
    'technicalcontact_email' => 'test@example.com',
    'timezone'               => 'UTC',
    'debug'                  => ['saml' => true, 'backtraces' => true, 'validatexml' => false],
    'showerrors'             => true,
    'errorreporting'         => false,
    'logging.level'          => SimpleSAML\Logger::DEBUG,
    'logging.handler'        => 'file',
    'logging.logfile'        => 'simplesamlphp.log',
    'enable.saml20-idp'      => true,
    'enable.shib13-idp'      => false,
    'module.enable'          => ['exampleauth' => true, 'core' => true, 'saml' => true, 'admin' => true],
    'session.cookie.secure'  => false,          // plain http on loopback (else the login loops)
    'session.cookie.samesite' => null,
    // one cookie name per IdP: both run on 127.0.0.1 and must not share a session
    'session.phpsession.cookiename' => 'SimpleSAML-' . $idp,
    'session.cookie.name'    => 'SimpleSAMLSessionID-' . $idp,
    'session.authtoken.cookiename' => 'SimpleSAMLAuthToken-' . $idp,
    'session.phpsession.savepath'   => $runtime . 'tmp/',
    'store.type'             => 'phpsession',
    'metadata.sources'       => $sources,
    // ReturnTo of IdP-initiated logout may point at the portal on loopback (any port: the test live server)
    'trusted.url.domains'    => ['localhost(:[0-9]+)?', '127\\.0\\.0\\.1(:[0-9]+)?'],
    'trusted.url.regex'      => true,
    'language.default'       => 'en',
    'theme.use'              => 'default',
];
