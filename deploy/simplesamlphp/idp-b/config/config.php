<?php
// Test IdP "b" (organisation B): selected with SIMPLESAMLPHP_CONFIG_DIR=deploy/simplesamlphp/idp-b/config
$idp = 'idp-b';
$defaultPort = 8282;
require dirname(__DIR__, 2) . '/common.php';
