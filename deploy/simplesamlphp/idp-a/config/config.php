<?php
// Test IdP "a" (organisation A): selected with SIMPLESAMLPHP_CONFIG_DIR=deploy/simplesamlphp/idp-a/config
$idp = 'idp-a';
$defaultPort = 8281;
require dirname(__DIR__, 2) . '/common.php';
